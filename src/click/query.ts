/** A request's query parameters; a repeated key keeps its last value. */
export type Query = Map<string, string>;

const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g;

/** How many bytes the UTF-8 sequence starting with this byte has; 0 for a byte that cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Decodes the valid UTF-8 sequences of a run of %XX escapes; an invalid byte keeps its escape. */
function decodeRunLeniently(run: string): string {
  let decoded = "";
  let at = 0;
  while (at < run.length) {
    const length = sequenceLength(Number.parseInt(run.slice(at + 1, at + 3), 16));
    const sequence = length === 0 ? "" : run.slice(at, at + length * 3);
    let text: string | undefined;
    if (sequence.length === length * 3 && length > 0) {
      try {
        text = decodeURIComponent(sequence);
      } catch {}
    }
    if (text === undefined) {
      decoded += run.slice(at, at + 3);
      at += 3;
    } else {
      decoded += text;
      at += sequence.length;
    }
  }
  return decoded;
}

/** Decodes as a form is: `+` is a space, `%XX` is UTF-8; what cannot be decoded stays as it was sent. */
export function decodeFormComponent(raw: string): string {
  const spaced = raw.includes("+") ? raw.replaceAll("+", " ") : raw;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(PERCENT_RUN, decodeRunLeniently);
  }
}

/** Parses the raw query string (without `?`); a key without `=` has the empty value. */
export function parseQuery(raw: string): Query {
  const query: Query = new Map();
  if (raw.length === 0) return query;
  for (const pair of raw.split("&")) {
    if (pair.length === 0) continue;
    const equals = pair.indexOf("=");
    const key = decodeFormComponent(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? "" : decodeFormComponent(pair.slice(equals + 1));
    query.set(key, value);
  }
  return query;
}

/** The first of these parameters whose value is not blank. */
export function firstPresent(query: Query, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = query.get(key);
    if (value !== undefined && value.trim() !== "") return value;
  }
  return undefined;
}

/** Whether raw[start, end) has a `%` or a `+`, that is whether decoding could change it. */
function mayDecode(raw: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const code = raw.charCodeAt(i);
    if (code === 0x25 /* % */ || code === 0x2b /* + */) return true;
  }
  return false;
}

/**
 * The first value of one parameter of a raw query, decoded as parseQuery decodes it; undefined when
 * absent. Keys are compared where they stand; only a key with an escape or a `+` is decoded.
 */
export function firstValue(raw: string, name: string): string | undefined {
  let start = 0;
  while (start < raw.length) {
    const amp = raw.indexOf("&", start);
    const end = amp === -1 ? raw.length : amp;
    const equals = raw.indexOf("=", start);
    const keyEnd = equals === -1 || equals > end ? end : equals;
    const matches = mayDecode(raw, start, keyEnd)
      ? decodeFormComponent(raw.slice(start, keyEnd)) === name
      : keyEnd - start === name.length && raw.startsWith(name, start);
    if (matches && end > start) {
      return keyEnd === end ? "" : decodeFormComponent(raw.slice(keyEnd + 1, end));
    }
    start = end + 1;
  }
  return undefined;
}

/** A request's query parameters; a repeated key keeps its last value. */
export type Query = Map<string, string>;

const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g;

/** Decodes as a form is: `+` is a space, `%XX` is UTF-8; what cannot be decoded stays as it was sent. */
export function decodeFormComponent(raw: string): string {
  const spaced = raw.includes("+") ? raw.replaceAll("+", " ") : raw;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(PERCENT_RUN, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
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

/**
 * Ruby Addressable's query rendering, which the event consumers parse:
 * UTF-8 percent-encoding that leaves only A–Z a–z 0–9 - _ . ~ as they are.
 */

const UNRESERVED_ONLY = /^[A-Za-z0-9\-_.~]*$/;
// encodeURIComponent leaves these as they are too; Addressable does not.
const EXTRA_SAFE = /[!'()*]/g;

function escapeExtra(char: string): string {
  return `%${char.charCodeAt(0).toString(16).toUpperCase()}`;
}

export function encodeComponent(value: string): string {
  if (UNRESERVED_ONLY.test(value)) return value;
  // A lone surrogate cannot be UTF-8 encoded; it becomes U+FFFD, as Ruby's scrub would.
  return encodeURIComponent(value.toWellFormed()).replace(EXTRA_SAFE, escapeExtra);
}

/** `key=value`, or the bare key when there is no value at all. */
export function encodePair(key: string, value: string | null | undefined): string {
  return value === null || value === undefined ? key : `${key}=${encodeComponent(value)}`;
}

/**
 * Orders strings as Ruby compares them, by their UTF-8 bytes, which is code point order.
 * UTF-16 code units disagree only where a surrogate pair meets U+E000–U+FFFF: shift those apart.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** Renders key/value pairs as a query string, keys sorted as Addressable sorts them. */
export function encodeQuery(entries: Array<[string, string]>): string {
  return entries
    .sort(([a], [b]) => compareCodePoints(a, b))
    .map(([key, value]) => `${encodeComponent(key)}=${encodeComponent(value)}`)
    .join("&");
}

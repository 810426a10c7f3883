/**
 * Event times: ISO-8601 with offset and whole seconds (`2026-11-28T06:10:56+00:00`),
 * the way Ruby's DateTime#to_s wrote them for the original.
 */

// Within one second every click shares created_at and, per attribution window, attr_window_till:
// a few distinct strings, each formatted once.
const MAX_CACHED = 256;
const cache = new Map<number, string>();

export function isoSeconds(unixSeconds: number): string {
  const cached = cache.get(unixSeconds);
  if (cached !== undefined) return cached;
  const text = `${new Date(unixSeconds * 1000).toISOString().slice(0, 19)}+00:00`;
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(unixSeconds, text);
  return text;
}

/**
 * The rule for every string of a link that is not a URL (names, and the keys of target_url): the
 * database must keep it exactly as sent. PostgreSQL's text refuses a NUL (U+0000) outright, the
 * request would fail; a lone surrogate (half of a UTF-16 pair, which JSON's `\ud800` can carry) has
 * no UTF-8 form, so the driver would silently store U+FFFD instead. jsonb refuses both as escapes.
 * Every other code point is stored as given, on PostgreSQL and PGlite alike.
 */

/** Names are short; the bound keeps one link from filling every event it is clicked into. */
export const MAX_TEXT_LENGTH = 1024;

/** Undefined when the database keeps `value` exactly, else why not. */
export function textProblem(value: string, maxLength = MAX_TEXT_LENGTH): string | undefined {
  if (value.length > maxLength) return `must be at most ${maxLength} characters`;
  if (value.includes("\0")) return "must not contain NUL (U+0000)";
  if (!value.isWellFormed()) return "must not contain a lone surrogate (half of a UTF-16 pair)";
  return undefined;
}

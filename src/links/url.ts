/**
 * The rule for every URL a link may redirect to. It ends up in a Location header,
 * so anything that could split or smuggle a header is refused here, at the boundary.
 */

// Schemes that run code or embed content in the browser instead of going somewhere.
const FORBIDDEN_SCHEMES = new Set(["javascript", "data", "vbscript", "file", "blob", "about"]);
const SCHEME = /^([a-z][a-z0-9+.-]*):(.+)$/i;
// Printable ASCII only: no spaces, no control characters, nothing a header cannot carry.
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** Undefined when the URL is acceptable, else why not. */
export function urlProblem(value: string): string | undefined {
  if (!PRINTABLE_ASCII.test(value)) {
    return "must not contain spaces, control or non-ASCII characters (percent-encode them)";
  }
  const match = SCHEME.exec(value);
  if (!match) return "must be an absolute URL with a scheme";
  const scheme = (match[1] as string).toLowerCase();
  if (FORBIDDEN_SCHEMES.has(scheme)) return `must not use the ${scheme}: scheme`;
  if (scheme === "http" || scheme === "https") {
    if (!/^https?:\/\/[^/?#]/i.test(value) || !URL.canParse(value)) {
      return "must be an absolute http(s) URL with a host";
    }
  }
  return undefined;
}

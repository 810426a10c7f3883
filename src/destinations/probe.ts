import { checkableUrl } from "./checkable";
import type { HostPacer } from "./pacer";

/** What one check found: `ok` (a page is there), `failed` (definitively not), `inconclusive`. */
export type CheckOutcome = "ok" | "failed" | "inconclusive";
export const CHECK_OUTCOMES: readonly CheckOutcome[] = ["ok", "failed", "inconclusive"];

export interface CheckResult {
  outcome: CheckOutcome;
  /** An HTTP status, or a short name for what went wrong: `dns`, `timeout`, `tls: <code>`, ... */
  reason: string;
}

export interface ProbeOptions {
  pacer: HostPacer;
  timeoutMs?: number;
  maxRedirects?: number;
  maxBodyBytes?: number;
  /** Certificates trusted instead of the system store: for tests with their own CA only. */
  ca?: string;
  /** Aborts the request under way (the service is stopping). */
  signal?: AbortSignal;
}

// Devices of the platforms the links name, so a store or landing page answers as it would a person.
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1";
const ANDROID =
  "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Mobile Safari/537.36";
const DESKTOP =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36";

/** The User-Agent a check of a target under this link key sends. */
export function userAgentFor(platform: string): string {
  if (platform === "ios") return IPHONE;
  if (platform === "android") return ANDROID;
  return DESKTOP;
}

/**
 * Certificate errors a browser shows an error page for, whatever it does: the name or the dates do
 * not match. A chain the client cannot complete is not among them: browsers fetch missing
 * intermediates that Bun does not, so that one is inconclusive.
 */
const DEFINITIVE_TLS = new Set([
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
]);

/** An HTTP status at the end of a check (redirects are followed before). */
export function classifyStatus(status: number): CheckResult {
  const reason = String(status);
  if (status >= 200 && status < 300) return { outcome: "ok", reason };
  // Gone or never there: what a pulled app or a taken-down page answers. Every other status
  // (5xx, 429, 403 to robots, ...) may pass and says nothing certain about the page.
  if (status === 404 || status === 410) return { outcome: "failed", reason };
  return { outcome: "inconclusive", reason };
}

/** A request that did not get an answer. */
export function classifyError(error: unknown): CheckResult {
  const name = error instanceof Error ? error.name : "";
  const code = (error as { code?: unknown } | null)?.code;
  if (name === "TimeoutError" || code === "ABORT_ERR") return { outcome: "inconclusive", reason: "timeout" };
  // ENOTFOUND: the resolver said the name does not exist. A resolver that could not answer
  // (EAI_AGAIN, a timeout) says nothing about the name.
  if (code === "ENOTFOUND") return { outcome: "failed", reason: "dns: name does not resolve" };
  if (typeof code === "string" && DEFINITIVE_TLS.has(code))
    return { outcome: "failed", reason: `tls: ${code}` };
  if (code === "ECONNREFUSED") return { outcome: "inconclusive", reason: "connection refused" };
  return { outcome: "inconclusive", reason: typeof code === "string" ? code : name || "error" };
}

/** Reads at most `limit` bytes of the body, then lets the rest go: the status is what counts. */
async function drain(response: Response, limit: number): Promise<void> {
  const body = response.body;
  if (body === null) return;
  const reader = body.getReader();
  let read = 0;
  try {
    while (read < limit) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
    }
  } catch {
    // A body cut short or too slow changes nothing about the status already received.
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * One check of one target: a GET as a device of `platform` would send it, each redirect followed
 * by hand (so every hop waits for its host's turn), within the timeout per request.
 */
export async function checkDestination(
  target: string,
  platform: string,
  options: ProbeOptions,
): Promise<CheckResult> {
  const first = checkableUrl(target);
  if (first === undefined) return { outcome: "ok", reason: "not checked: not an http(s) URL" };
  const { pacer, timeoutMs = 5_000, maxRedirects = 5, maxBodyBytes = 64 * 1024 } = options;
  const init = {
    method: "GET",
    redirect: "manual",
    headers: { "user-agent": userAgentFor(platform), accept: "text/html,*/*" },
    ...(options.ca === undefined ? {} : { tls: { ca: options.ca } }),
  } satisfies RequestInit & { tls?: { ca: string } };
  let url = new URL(first);
  for (let redirects = 0; ; redirects++) {
    await pacer.slot(url.host);
    let response: Response;
    try {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      response = await fetch(url, { ...init, signal });
    } catch (error) {
      return classifyError(error);
    }
    const location = response.headers.get("location");
    const redirected = response.status >= 300 && response.status < 400 && location !== null;
    await drain(response, maxBodyBytes);
    if (!redirected) return classifyStatus(response.status);
    if (redirects === maxRedirects) return { outcome: "inconclusive", reason: "too many redirects" };
    if (!URL.canParse(location, url.href)) return { outcome: "inconclusive", reason: "bad redirect" };
    const next = new URL(location, url);
    // A store page that hands over to the store app (itms-apps://, market://): the app is there.
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      return { outcome: "ok", reason: `redirect to ${next.protocol}` };
    }
    url = next;
  }
}

import { V2_HEADER_PREFIX, verifySignature, verifyV2 } from "./signature";

/** Which signatures the link API accepts: `legacy+v2` (SHA-1 pepper or v2), `v2` (v2 only). */
export const API_SIGNATURE_VALUES = ["legacy+v2", "v2"] as const;
export type ApiSignature = (typeof API_SIGNATURE_VALUES)[number];

/** Why a request was refused, as logged and counted; a fixed set, so it can be a metric label. */
export const REJECTION_REASONS = ["no_signature", "bad_signature", "stale_timestamp", "replayed"] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** How far a v2 timestamp may be from the server clock, either way; also how long a signature is remembered. */
export const V2_WINDOW_SECONDS = 300;

/** What a request brings to be judged: its headers and form fields as sent, and the body's exact bytes. */
export interface ApiCredentials {
  method: string;
  path: string;
  body: Uint8Array;
  /** X-API-Timestamp and X-API-Signature (v2). */
  timestamp: string | undefined;
  signature: string | undefined;
  /** X-API-SALT header and the pepper and campaign_link fields (legacy). */
  salt: string | undefined;
  pepper: string | undefined;
  payload: string | undefined;
}

/** What a log line may say about a refused request: never the secret, never a whole signature. */
export interface RejectionDetails {
  reason: RejectionReason;
  scheme?: "legacy" | "v2";
  /** The first characters of the signature sent, enough to match it with the client's own log. */
  signaturePrefix?: string;
  /** Server clock minus the request's timestamp, in seconds, for a stale one. */
  skewSeconds?: number;
}

export type Verdict =
  | { ok: true; scheme: "legacy" }
  /** Still to be claimed in the replay guard: `signature` until `expiresAtMs`. */
  | { ok: true; scheme: "v2"; signature: string; expiresAtMs: number }
  | { ok: false; rejection: RejectionDetails };

// How much of a signature a log line may show.
const SIGNATURE_PREFIX_LENGTH = 8;
// Unix seconds, written the one way (no sign, no leading zero): the signed text is the header as sent.
const UNIX_SECONDS = /^(0|[1-9][0-9]{0,11})$/;

function refuse(rejection: RejectionDetails): Verdict {
  return { ok: false, rejection };
}

function prefixOf(signature: string): string {
  return signature.slice(0, SIGNATURE_PREFIX_LENGTH);
}

/**
 * Judges a link API request's signature. A request with X-API-Signature is judged as v2 only; one
 * without, as legacy when `accepted` allows it. The HMAC is checked before the clock, so that
 * `stale_timestamp` always means a correctly signed request from a clock too far off.
 */
export function authenticate(
  request: ApiCredentials,
  secret: string,
  accepted: ApiSignature,
  nowMs: number,
): Verdict {
  const header = request.signature;
  if (header === undefined) {
    const { salt, pepper, payload } = request;
    if (pepper === undefined && salt === undefined) return refuse({ reason: "no_signature" });
    const legacy = { scheme: "legacy", signaturePrefix: prefixOf(pepper ?? "") } as const;
    // An operator who turned the old scheme off sees which clients still use it.
    if (accepted === "v2") return refuse({ reason: "no_signature", ...legacy });
    if (salt === undefined || pepper === undefined || payload === undefined) {
      return refuse({ reason: "bad_signature", ...legacy });
    }
    return verifySignature(salt, payload, secret, pepper)
      ? { ok: true, scheme: "legacy" }
      : refuse({ reason: "bad_signature", ...legacy });
  }

  const given = header.startsWith(V2_HEADER_PREFIX) ? header.slice(V2_HEADER_PREFIX.length) : undefined;
  const v2 = { scheme: "v2", signaturePrefix: prefixOf(given ?? header) } as const;
  const written = request.timestamp;
  if (given === undefined || written === undefined || !UNIX_SECONDS.test(written)) {
    return refuse({ reason: "bad_signature", ...v2 });
  }
  const timestamp = Number(written);
  const signed = { timestamp, method: request.method, path: request.path, body: request.body };
  if (!verifyV2(secret, signed, given)) return refuse({ reason: "bad_signature", ...v2 });
  const skewSeconds = Math.floor(nowMs / 1000) - timestamp;
  if (Math.abs(skewSeconds) > V2_WINDOW_SECONDS) {
    return refuse({ reason: "stale_timestamp", ...v2, skewSeconds });
  }
  return { ok: true, scheme: "v2", signature: given, expiresAtMs: (timestamp + V2_WINDOW_SECONDS) * 1000 };
}

/** A correct v2 signature the replay guard had already seen. */
export function replayed(signature: string): RejectionDetails {
  return { reason: "replayed", scheme: "v2", signaturePrefix: prefixOf(signature) };
}

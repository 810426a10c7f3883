import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The analytics tool signs each request: pepper = hex SHA-1 of (salt + payload + secret),
 * where payload is the campaign_link parameter exactly as sent.
 */
export function sign(salt: string, payload: string, secret: string): string {
  return new Bun.CryptoHasher("sha1").update(salt).update(payload).update(secret).digest("hex");
}

/** Compared in constant time; a pepper of the wrong length fails before comparing (its length is no secret). */
export function verifySignature(salt: string, payload: string, secret: string, pepper: string): boolean {
  return equalInConstantTime(sign(salt, payload, secret), pepper);
}

/** What a v2 signature covers: the request line that matters and the body, byte for byte. */
export interface SignedRequest {
  /** Unix seconds, as sent in X-API-Timestamp. */
  timestamp: number;
  /** Upper case, as on the wire: `POST`. */
  method: string;
  /** The URL's path, without host or query: `/api/1/create`. */
  path: string;
  body: Uint8Array | string;
}

export const V2_HEADER_PREFIX = "v2=";

/** The v2 signature, hex HMAC-SHA256(secret, "<timestamp>\n<method>\n<path>\n<raw body>"): the one recipe, for the service and every client. */
export function signV2(secret: string, request: SignedRequest): string {
  return createHmac("sha256", secret)
    .update(`${request.timestamp}\n${request.method}\n${request.path}\n`)
    .update(request.body)
    .digest("hex");
}

/** The two headers a v2 request carries. */
export function v2Headers(secret: string, request: SignedRequest): Record<string, string> {
  return {
    "x-api-timestamp": String(request.timestamp),
    "x-api-signature": `${V2_HEADER_PREFIX}${signV2(secret, request)}`,
  };
}

/** Does `given` (the hex after `v2=`) sign this request? In constant time. */
export function verifyV2(secret: string, request: SignedRequest, given: string): boolean {
  return equalInConstantTime(signV2(secret, request), given);
}

/** timingSafeEqual needs equal lengths; a wrong length fails first (the length of a hex digest is no secret). */
function equalInConstantTime(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

import { timingSafeEqual } from "node:crypto";

/**
 * The analytics tool signs each request: pepper = hex SHA-1 of (salt + payload + secret),
 * where payload is the campaign_link parameter exactly as sent.
 */
export function sign(salt: string, payload: string, secret: string): string {
  return new Bun.CryptoHasher("sha1").update(salt).update(payload).update(secret).digest("hex");
}

/** Compared in constant time; a pepper of the wrong length fails before comparing (its length is no secret). */
export function verifySignature(salt: string, payload: string, secret: string, pepper: string): boolean {
  const expected = Buffer.from(sign(salt, payload, secret));
  const given = Buffer.from(pepper);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

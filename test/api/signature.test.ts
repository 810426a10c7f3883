import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { sign, verifySignature } from "../../src/api/signature";

test("pepper is hex SHA-1 of salt + payload + secret", () => {
  const expected = createHash("sha1").update('salt{"id":1}secret').digest("hex");
  expect(sign("salt", '{"id":1}', "secret")).toBe(expected);
  expect(verifySignature("salt", '{"id":1}', "secret", expected)).toBe(true);
});

test("any other salt, payload, secret or pepper fails", () => {
  const pepper = sign("salt", "payload", "secret");
  expect(verifySignature("salt2", "payload", "secret", pepper)).toBe(false);
  expect(verifySignature("salt", "payload ", "secret", pepper)).toBe(false);
  expect(verifySignature("salt", "payload", "other", pepper)).toBe(false);
  expect(verifySignature("salt", "payload", "secret", pepper.slice(0, 39))).toBe(false);
  expect(verifySignature("salt", "payload", "secret", "")).toBe(false);
  expect(verifySignature("salt", "payload", "secret", pepper.toUpperCase())).toBe(false);
});

import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { sign, signV2, v2Headers, verifySignature, verifyV2 } from "../../src/api/signature";

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

describe("v2", () => {
  const request = {
    timestamp: 1_700_000_000,
    method: "POST",
    path: "/api/1/create",
    body: "campaign_link=%7B%22id%22%3A1%7D",
  };
  // Computed independently: printf '1700000000\nPOST\n/api/1/create\ncampaign_link=%%7B%%22id%%22%%3A1%%7D' | openssl dgst -sha256 -hmac secret
  const EXPECTED = "fa3e052c7f89afcc20f7358aa280d6349e08d8dd0aa6c56ac8ec44ddc2d95f04";

  test("the signature is hex HMAC-SHA256 of timestamp, method, path and body, one per line", () => {
    expect(signV2("secret", request)).toBe(EXPECTED);
    expect(signV2("secret", { ...request, body: new TextEncoder().encode(request.body) })).toBe(EXPECTED);
    expect(v2Headers("secret", request)).toEqual({
      "x-api-timestamp": "1700000000",
      "x-api-signature": `v2=${EXPECTED}`,
    });
    expect(verifyV2("secret", request, EXPECTED)).toBe(true);
  });

  test("any other secret, timestamp, method, path, body or signature fails", () => {
    expect(verifyV2("other", request, EXPECTED)).toBe(false);
    expect(verifyV2("secret", { ...request, timestamp: 1_700_000_001 }, EXPECTED)).toBe(false);
    expect(verifyV2("secret", { ...request, method: "GET" }, EXPECTED)).toBe(false);
    expect(verifyV2("secret", { ...request, path: "/api/1/delete" }, EXPECTED)).toBe(false);
    expect(verifyV2("secret", { ...request, body: `${request.body}&` }, EXPECTED)).toBe(false);
    expect(verifyV2("secret", request, EXPECTED.slice(0, 63))).toBe(false);
    expect(verifyV2("secret", request, `${EXPECTED}0`)).toBe(false);
    expect(verifyV2("secret", request, EXPECTED.toUpperCase())).toBe(false);
    expect(verifyV2("secret", request, "")).toBe(false);
  });
});

import { describe, expect, test } from "bun:test";
import { type ApiCredentials, authenticate, type Verdict } from "../../src/api/authenticate";
import { sign, signV2 } from "../../src/api/signature";

const SECRET = "the-secret";
const NOW_MS = 1_800_000_000_500;
const NOW = 1_800_000_000;
const BODY = "campaign_link=%7B%22id%22%3A7%7D";
const PAYLOAD = '{"id":7}';

const unsigned: ApiCredentials = {
  method: "POST",
  path: "/api/1/create",
  body: new TextEncoder().encode(BODY),
  timestamp: undefined,
  signature: undefined,
  salt: undefined,
  pepper: undefined,
  payload: PAYLOAD,
};

function v2(timestamp: number, changes: Partial<ApiCredentials> = {}): ApiCredentials {
  const signature = signV2(SECRET, { timestamp, method: "POST", path: "/api/1/create", body: BODY });
  return { ...unsigned, timestamp: String(timestamp), signature: `v2=${signature}`, ...changes };
}

function legacy(changes: Partial<ApiCredentials> = {}): ApiCredentials {
  return { ...unsigned, salt: "salt", pepper: sign("salt", PAYLOAD, SECRET), ...changes };
}

/** The verdict without the signature itself: what a table can state. */
function outcome(verdict: Verdict): string {
  if (verdict.ok) return `ok ${verdict.scheme}`;
  const { reason, scheme, skewSeconds } = verdict.rejection;
  return [reason, scheme, skewSeconds].filter((part) => part !== undefined).join(" ");
}

describe("authenticate", () => {
  const cases: Array<[string, ApiCredentials, "legacy+v2" | "v2", string]> = [
    ["nothing signed", unsigned, "legacy+v2", "no_signature"],
    ["nothing signed, v2 only", unsigned, "v2", "no_signature"],
    ["legacy, accepted by default", legacy(), "legacy+v2", "ok legacy"],
    ["legacy, with v2 only", legacy(), "v2", "no_signature legacy"],
    ["legacy, wrong pepper", legacy({ pepper: "0".repeat(40) }), "legacy+v2", "bad_signature legacy"],
    ["legacy, no salt", legacy({ salt: undefined }), "legacy+v2", "bad_signature legacy"],
    ["legacy, no pepper", legacy({ pepper: undefined }), "legacy+v2", "bad_signature legacy"],
    ["legacy, no campaign_link", legacy({ payload: undefined }), "legacy+v2", "bad_signature legacy"],
    ["v2, now", v2(NOW), "legacy+v2", "ok v2"],
    ["v2, now, v2 only", v2(NOW), "v2", "ok v2"],
    ["v2, 300 s old", v2(NOW - 300), "v2", "ok v2"],
    ["v2, 300 s ahead", v2(NOW + 300), "v2", "ok v2"],
    ["v2, 301 s old", v2(NOW - 301), "v2", "stale_timestamp v2 301"],
    ["v2, 301 s ahead", v2(NOW + 301), "v2", "stale_timestamp v2 -301"],
    ["v2, another body", v2(NOW, { body: new TextEncoder().encode(`${BODY}0`) }), "v2", "bad_signature v2"],
    ["v2, another path", v2(NOW, { path: "/api/1/delete" }), "v2", "bad_signature v2"],
    ["v2, timestamp not the signed one", v2(NOW, { timestamp: String(NOW + 1) }), "v2", "bad_signature v2"],
    ["v2, no timestamp", v2(NOW, { timestamp: undefined }), "v2", "bad_signature v2"],
    ["v2, timestamp not whole seconds", v2(NOW, { timestamp: `${NOW}.0` }), "v2", "bad_signature v2"],
    ["v2, timestamp with a leading zero", v2(NOW, { timestamp: `0${NOW}` }), "v2", "bad_signature v2"],
    ["v2, no v2= prefix", v2(NOW, { signature: "0".repeat(64) }), "v2", "bad_signature v2"],
    ["v2, wrong signature", v2(NOW, { signature: `v2=${"0".repeat(64)}` }), "v2", "bad_signature v2"],
    [
      "v2, a stale signature that is also wrong",
      v2(NOW - 1000, { signature: "v2=00" }),
      "v2",
      "bad_signature v2",
    ],
    // A v2 header decides, whatever legacy fields come with it.
    [
      "v2 header beside a good legacy pepper",
      legacy({ signature: "v2=00", timestamp: String(NOW) }),
      "legacy+v2",
      "bad_signature v2",
    ],
  ];
  for (const [name, request, accepted, expected] of cases) {
    test(`${name}: ${expected}`, () => {
      expect(outcome(authenticate(request, SECRET, accepted, NOW_MS))).toBe(expected);
    });
  }

  test("an accepted v2 signature is claimed until its timestamp leaves the window", () => {
    const verdict = authenticate(v2(NOW - 10), SECRET, "v2", NOW_MS);
    expect(verdict).toEqual({
      ok: true,
      scheme: "v2",
      signature: signV2(SECRET, { timestamp: NOW - 10, method: "POST", path: "/api/1/create", body: BODY }),
      expiresAtMs: (NOW - 10 + 300) * 1000,
    });
  });

  test("a rejection shows 8 characters of the signature at most, never the secret", () => {
    const requests = [v2(NOW, { body: new Uint8Array() }), v2(NOW - 400), legacy({ pepper: "f".repeat(40) })];
    for (const request of requests) {
      const verdict = authenticate(request, SECRET, "legacy+v2", NOW_MS);
      if (verdict.ok) throw new Error("accepted");
      expect(verdict.rejection.signaturePrefix).toHaveLength(8);
      expect(JSON.stringify(verdict)).not.toContain(SECRET);
      expect(JSON.stringify(verdict)).not.toContain((request.signature ?? request.pepper ?? "").slice(3, 20));
    }
  });
});

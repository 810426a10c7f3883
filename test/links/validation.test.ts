import { describe, expect, test } from "bun:test";
import { urlProblem } from "../../src/links/url";
import { parseLinkId, parseLinkJson } from "../../src/links/validation";

describe("parseLinkJson", () => {
  test("a complete link; unknown fields ignored; absent fields null", () => {
    const result = parseLinkJson(
      JSON.stringify({
        id: 12,
        campaign: "c",
        network: "n",
        user_id: 3,
        attribution_window_idfa: 10080,
        target_url: { ios: "itms-apps://itunes.apple.com/app/id1", default: "https://example.com" },
        whatever: true,
      }),
    );
    expect(result).toEqual({
      ok: true,
      link: {
        id: 12,
        campaign: "c",
        adgroup: null,
        ad: null,
        network: "n",
        country: null,
        device: null,
        campaignUrl: null,
        targetUrl: { ios: "itms-apps://itunes.apple.com/app/id1", default: "https://example.com" },
        attributionWindowFingerprint: null,
        attributionWindowIdfa: 10080,
        userId: 3,
      },
    });
  });

  const bad: Array<[string, string]> = [
    ["not json", "campaign_link"],
    ["[1]", "campaign_link"],
    ["{}", "id"],
    ['{"id":"12"}', "id"],
    ['{"id":1.5}', "id"],
    ['{"id":1,"campaign":5}', "campaign"],
    ['{"id":1,"target_url":"https://x"}', "target_url"],
    ['{"id":1,"target_url":{"ios":5}}', "target_url.ios"],
    ['{"id":1,"target_url":{"ios":"/relative"}}', "target_url.ios"],
    ['{"id":1,"target_url":{"ios":"https://x\\r\\nSet-Cookie: a=b"}}', "target_url.ios"],
    ['{"id":1,"target_url":{"constructor":"https://x"}}', "target_url"],
    ['{"id":1,"attribution_window_idfa":"60"}', "attribution_window_idfa"],
    [`{"id":1,"campaign_url":"https://x/${"a".repeat(1024)}"}`, "campaign_url"],
  ];
  for (const [json, field] of bad) {
    test(`refuses ${json.slice(0, 60)} naming ${field}`, () => {
      const result = parseLinkJson(json);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.field).toBe(field);
    });
  }

  test("__proto__ keys change nothing beyond the link's own fields", () => {
    const result = parseLinkJson('{"id":1,"__proto__":{"polluted":1},"target_url":{"default":"https://x"}}');
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.link.targetUrl).toEqual({ default: "https://x" });
      expect(Object.getPrototypeOf(result.link)).toBe(Object.prototype);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("a target_url key named __proto__, constructor or prototype is refused, not silently dropped", () => {
    for (const name of ["__proto__", "constructor", "prototype"]) {
      const result = parseLinkJson(`{"id":1,"target_url":{"${name}":"https://x"}}`);
      expect(result).toEqual({ ok: false, field: "target_url", message: `has an invalid key "${name}"` });
    }
  });

  test("a target with macros is saved as written", () => {
    const targets = {
      default: "https://lp.example/{campaign}?cid={click_id}&s={q:sub1}&j={%22a%22:1}&u={Upper}",
      android: "https://play.google.com/store/apps/details?id=x&referrer=utm_source%3D{network}",
    };
    const result = parseLinkJson(JSON.stringify({ id: 1, target_url: targets }));
    expect(result.ok && result.link.targetUrl).toEqual(targets);
  });

  test("an unknown macro is refused, naming the token and the target key", () => {
    for (const [url, token] of [
      ["https://x/?c={clickid}", "{clickid}"],
      ["https://x/?c={click_id}&g={gaid}", "{gaid}"],
      ["https://x/?s={q:}", "{q:}"],
    ] as const) {
      const result = parseLinkJson(
        JSON.stringify({ id: 1, target_url: { ios: "https://ok/", android: url } }),
      );
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.field).toBe("target_url.android");
        expect(result.message).toStartWith(`has an unknown macro ${token} (macros: `);
      }
    }
  });

  test("parseLinkId needs only an integer id", () => {
    expect(parseLinkId('{"id":4,"anything":"else"}')).toEqual({ ok: true, id: 4 });
    expect(parseLinkId('{"id":"4"}').ok).toBe(false);
    expect(parseLinkId("nope").ok).toBe(false);
  });
});

describe("urlProblem", () => {
  const accepted = [
    "https://apps.apple.com/app/id1?mt=8",
    "http://example.com",
    "itms-apps://itunes.apple.com/app/id1",
    "market://details?id=com.example",
    "intent://scan/#Intent;scheme=zxing;package=com.example;end",
    "myapp://open/path",
  ];
  const refused = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,hi",
    "https://a b",
    "https://x\r\nLocation: evil",
    "https://ex\u00e4mple.com",
    "//example.com",
    "example.com",
    "https://",
    "",
  ];
  for (const url of accepted) test(`accepts ${url}`, () => expect(urlProblem(url)).toBeUndefined());
  for (const url of refused)
    test(`refuses ${JSON.stringify(url)}`, () => expect(urlProblem(url)).toBeString());
});

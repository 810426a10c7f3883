import { describe, expect, test } from "bun:test";
import { MAX_TEXT_LENGTH, textProblem } from "../../src/links/text";
import { urlProblem } from "../../src/links/url";
import { parseIdArgument, parseLinkId, parseLinkJson } from "../../src/links/validation";

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
    ['{"id":1094932888,"campaign":"\\u0000\\ud800"}', "campaign"],
    ...["campaign", "adgroup", "ad", "network", "country", "device"].flatMap(
      (name): Array<[string, string]> =>
        ["a\\u0000", "\\ud800", "x\\udfffy", "\\udc00\\ud800", "z".repeat(MAX_TEXT_LENGTH + 1)].map(
          (value) => [`{"id":1,"${name}":"${value}"}`, name],
        ),
    ),
    ['{"id":1,"target_url":{"ios\\u0000":"https://x"}}', "target_url"],
    ['{"id":1,"target_url":{"\\ud83d":"https://x"}}', "target_url"],
    [`{"id":1,"target_url":{"${"k".repeat(65)}":"https://x"}}`, "target_url"],
    [`{"id":1,"target_url":{"ios":"https://x/${"a".repeat(8192)}"}}`, "target_url.ios"],
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

  test("a target_url key the database would not keep is refused, saying why", () => {
    expect(parseLinkJson('{"id":1,"target_url":{"ios\\u0000":"https://x"}}')).toEqual({
      ok: false,
      field: "target_url",
      message: 'has an invalid key "ios\\u0000": must not contain NUL (U+0000)',
    });
  });

  test("any other text is kept as sent: controls but NUL, noncharacters, pairs, the longest names", () => {
    const names = {
      campaign: "tab\there\u0001\u007f\u0085",
      adgroup: "\ufffe\uffff\ufeff",
      ad: "😀 \u{10ffff}",
      network: "n".repeat(MAX_TEXT_LENGTH),
      country: "",
      device: "\u2028",
    };
    const result = parseLinkJson(
      JSON.stringify({
        id: 1,
        ...names,
        target_url: { "😀\u0001": "https://x", ["k".repeat(64)]: "https://y" },
      }),
    );
    expect(result).toMatchObject({ ok: true, link: names });
  });

  test("parseLinkId needs only an integer id", () => {
    expect(parseLinkId('{"id":4,"anything":"else"}')).toEqual({ ok: true, id: 4 });
    expect(parseLinkId('{"id":"4"}').ok).toBe(false);
    expect(parseLinkId("nope").ok).toBe(false);
  });
});

describe("parseIdArgument (the CLI's delete)", () => {
  const cases: Array<[string, number | string]> = [
    ["4", 4],
    ["2147483647", 2147483647],
    ["2147483648", "id is too large"],
    ["99999999999", "id is too large"],
    ["0", "id must be positive"],
    ["-3", "id must be positive"],
    ["1.5", "id is required and must be an integer"],
    ["x", "id is required and must be an integer"],
  ];
  for (const [argument, expected] of cases) {
    test(`${argument} → ${expected}`, () => {
      const result = parseIdArgument(argument);
      expect(result.ok ? result.id : `${result.field} ${result.message}`).toBe(expected);
    });
  }
});

describe("textProblem", () => {
  const cases: Array<[string, string | undefined]> = [
    ["spring", undefined],
    ["", undefined],
    ["😀", undefined],
    ["\ufffe\uffff", undefined],
    ["\t\r\n\u0001", undefined],
    ["a\u0000b", "must not contain NUL (U+0000)"],
    ["\ud800", "must not contain a lone surrogate (half of a UTF-16 pair)"],
    ["\udc00", "must not contain a lone surrogate (half of a UTF-16 pair)"],
    ["😀".slice(0, 1), "must not contain a lone surrogate (half of a UTF-16 pair)"],
    ["x".repeat(MAX_TEXT_LENGTH), undefined],
    ["x".repeat(MAX_TEXT_LENGTH + 1), `must be at most ${MAX_TEXT_LENGTH} characters`],
  ];
  for (const [value, expected] of cases) {
    test(`${JSON.stringify(value).slice(0, 30)} → ${expected ?? "kept"}`, () => {
      expect(textProblem(value)).toBe(expected);
    });
  }
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

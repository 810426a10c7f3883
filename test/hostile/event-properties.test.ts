import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createClickComposer } from "../../src/click/click";
import { EVENT_KEYS } from "../../src/click/event";
import { createPlatformDetector } from "../../src/click/platform";
import { decodeFormComponent, firstValue } from "../../src/click/query";
import { eventProblems, parseEvent } from "../support/consumer";
import {
  anyText,
  expectedQueryFields,
  formEncode,
  formQuery,
  hostileQuery,
  queryFieldsOf,
  wellFormedPairs,
} from "../support/hostile";
import { linkRow } from "../support/links";

// The click pipeline as plain functions: thousands of cases in milliseconds, including inputs
// that HTTP cannot carry (lone surrogates, CR and LF in a User-Agent).
const SEED = 11;

const link = linkRow({
  id: 7,
  campaign: "spring sale & more",
  ad: "ad 1/2",
  network: "net",
  targetUrl: { default: "https://x.example/" },
  attributionWindowFingerprint: 60,
  userId: 3,
});

const composeClick = createClickComposer({
  detectPlatform: createPlatformDetector(),
  notFoundUrl: undefined,
});

/** Any JavaScript string: every UTF-16 unit, lone surrogates included. */
const anyUnits = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
});

describe("the event string, whatever the input", () => {
  test("parses the consumer's way: six fields, integer time, the 17 keys, an address, one line", () => {
    expect(EVENT_KEYS).toHaveLength(17);
    fc.assert(
      fc.property(
        fc.oneof(
          hostileQuery.map((query) => query ?? ""),
          anyUnits,
          fc.string({ unit: "binary" }),
        ),
        fc.oneof(fc.ipV4(), fc.ipV6()),
        fc.oneof(anyUnits, anyText, fc.constantFrom("", "\r\n", " \r\n\tx", "a\rb\nc", "x".repeat(8192))),
        (rawQuery, ip, userAgent) => {
          const { event } = composeClick(link, { rawQuery, ip, userAgent, nowMs: 1_700_000_000_123 });
          expect(eventProblems(event)).toEqual([]);
          const parsed = parseEvent(event);
          expect(parsed.ip).toBe(ip);
          expect(parsed.timestamp).toBe("1700000000");
          expect(parsed.userAgent).toBe(userAgent.replace(/[\r\n]/g, ""));
        },
      ),
      { seed: SEED, numRuns: 3_000 },
    );
  });

  test("well-formed parameters reach the event unchanged: click, partner_data, reqparams", () => {
    fc.assert(
      fc.property(wellFormedPairs, (pairs) => {
        const { event } = composeClick(link, {
          rawQuery: formQuery(pairs),
          ip: "192.0.2.1",
          userAgent: "",
          nowMs: 0,
        });
        expect(queryFieldsOf(event)).toEqual(expectedQueryFields(pairs));
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });
});

test("well-formed input still gives the foundation's event, byte for byte", () => {
  const compose = createClickComposer({
    detectPlatform: createPlatformDetector(),
    notFoundUrl: undefined,
    newClickId: () => "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
  });
  const { event } = compose(
    {
      ...link,
      targetUrl: { default: "https://x.example/", ios: "itms-apps://apps.apple.com/app/id1" },
      attributionWindowIdfa: 1440,
    },
    {
      rawQuery:
        "idfa=ab34f9c2d1e04b7a9c3d2e1f0a9b8c7d&click=c%201&cb=x+y&utm=%C3%A9t%C3%A9&z=%zz&a=1&a=2&q=~a.b_c-d!*'()",
      ip: "203.0.113.5",
      userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)\tMobile",
      nowMs: 1_795_851_524_709,
    },
  );
  expect(event).toBe(
    "203.0.113.5 1795851524 clicks /t/click ad=ad%201%2F2&adgroup&adid=AB34F9C2-D1E0-4B7A-9C3D-2E1F0A9B8C7D" +
      "&attr_window_from=2026-11-28T07%3A38%3A44%2B00%3A00&attr_window_till=2026-11-29T07%3A38%3A44%2B00%3A00" +
      "&campaign=spring%20sale%20%26%20more&campaign_link_id=7&click=c%201&click_id=0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" +
      "&created_at=2026-11-28T07%3A38%3A44%2B00%3A00&idfa_comb=AB34F9C2-D1E0-4B7A-9C3D-2E1F0A9B8C7D" +
      "&lookup_key=d3ccd14cccd53fd2cc2fc67aab413f1c&network=net&partner_data=x%20y" +
      "&redirect_url=itms-apps%3A%2F%2Fapps.apple.com%2Fapp%2Fid1" +
      "&reqparams=a%3D2%26cb%3Dx%2520y%26q%3D~a.b_c-d%2521%252A%2527%2528%2529%26utm%3D%25C3%25A9t%25C3%25A9%26z%3D%2525zz" +
      "&user_id=3 Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)\tMobile",
  );
});

describe("form decoding", () => {
  test("undoes form encoding for text from every plane", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(decodeFormComponent(formEncode(text))).toBe(text);
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  test("keeps what it cannot decode and never throws", () => {
    expect(decodeFormComponent("%zz")).toBe("%zz");
    expect(decodeFormComponent("%C3")).toBe("%C3");
    expect(decodeFormComponent("a+%C3%A9%zz")).toBe("a é%zz");
    expect(decodeFormComponent("%ED%A0%80")).toBe("%ED%A0%80");
    fc.assert(
      fc.property(anyUnits, (raw) => {
        expect(typeof decodeFormComponent(raw)).toBe("string");
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });
});

describe("the Location of a target with macros, whatever the click sends", () => {
  const macroLink = linkRow({
    ...link,
    id: 8,
    targetUrl: {
      default:
        "https://x.example/{campaign}?c={click_id}&a={adid}&k={click}&p={partner_data}&s={q:sub1}&t={created_at}",
      android: "market://details?id=x&referrer=s%3D{q:sub1}%26n%3D{network}",
    },
  });

  test("is a header value, is the event's redirect_url, carries its click_id and the values as sent", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostileQuery.map((query) => query ?? ""),
          anyUnits,
          fc
            .tuple(anyText, anyText)
            .map(([sub1, click]) => `sub1=${formEncode(sub1)}&click=${formEncode(click)}`),
        ),
        fc.constantFrom("", "Mozilla/5.0 (Linux; Android 14; Pixel 8)"),
        (rawQuery, userAgent) => {
          const click = composeClick(macroLink, { rawQuery, ip: "192.0.2.1", userAgent, nowMs: 0 });
          const location = click.redirectUrl as string;
          expect(location).toMatch(/^[\x21-\x7e]+$/);
          const event = parseEvent(click.event);
          expect(event.params.get("redirect_url")).toBe(location);
          const url = new URL(location);
          const sub1 = firstValue(rawQuery, "sub1") ?? "";
          const clickId = event.params.get("click_id") as string;
          if (userAgent === "") {
            expect(url.searchParams.get("c")).toBe(clickId);
            expect(url.searchParams.get("s")).toBe(sub1.toWellFormed());
          } else {
            const referrer = new URLSearchParams(url.searchParams.get("referrer") ?? "");
            expect(referrer.get("click_id")).toBe(clickId);
            expect(referrer.get("n")).toBe("net");
          }
        },
      ),
      { seed: SEED, numRuns: 2_000 },
    );
  });
});

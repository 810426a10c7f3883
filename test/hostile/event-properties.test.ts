import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createClickComposer } from "../../src/click/click";
import { EVENT_KEYS } from "../../src/click/event";
import { createPlatformDetector } from "../../src/click/platform";
import { decodeFormComponent } from "../../src/click/query";
import type { CampaignLink } from "../../src/db/schema";
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

// The click pipeline as plain functions: thousands of cases in milliseconds, including inputs
// that HTTP cannot carry (lone surrogates, CR and LF in a User-Agent).
const SEED = 11;

const link: CampaignLink = {
  id: 7,
  campaign: "spring sale & more",
  adgroup: null,
  ad: "ad 1/2",
  network: "net",
  country: null,
  device: null,
  campaignUrl: null,
  targetUrl: { default: "https://x.example/" },
  attributionWindowFingerprint: 60,
  attributionWindowIdfa: null,
  userId: 3,
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

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

import { describe, expect, test } from "bun:test";
import { createClickComposer } from "../../src/click/click";
import { nonHumanReason } from "../../src/click/non-human";
import { createPlatformDetector } from "../../src/click/platform";
import { linkRow } from "../support/links";

describe("nonHumanReason", () => {
  const table: Array<[string, boolean, string | undefined]> = [
    ["GET", false, undefined],
    ["GET", true, "crawler"],
    ["HEAD", false, "head"],
    ["HEAD", true, "head"],
  ];
  for (const [method, crawler, reason] of table) {
    test(`${method}${crawler ? " from a crawler" : ""} → ${reason ?? "a person"}`, () =>
      expect(nonHumanReason(method, crawler)).toBe(reason as "head" | "crawler" | undefined));
  }
});

describe("composeClick tells a crawler", () => {
  const compose = createClickComposer({ detectPlatform: createPlatformDetector(), notFoundUrl: undefined });
  const link = linkRow({ id: 1, targetUrl: { default: "https://example.com/" } });
  const table: Array<[string, boolean]> = [
    ["Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", true],
    ["Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5", true],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15", false],
    ["iPhone", false],
    ["", false],
  ];
  for (const [userAgent, crawler] of table) {
    test(`${JSON.stringify(userAgent.slice(0, 50))} → ${crawler ? "crawler" : "person"}`, () => {
      for (let repeat = 0; repeat < 2; repeat++) {
        const click = compose(link, { rawQuery: "", ip: "10.0.0.1", userAgent, nowMs: Date.now() });
        expect(click.crawler).toBe(crawler);
      }
    });
  }
});

import { describe, expect, test } from "bun:test";
import { withEmptyMacros } from "../../src/click/macros";
import { checkableUrl, playStorePage } from "../../src/destinations/checkable";
import { HostPacer } from "../../src/destinations/pacer";
import type { CheckResult } from "../../src/destinations/probe";
import { distinctTargets } from "../../src/destinations/targets";
import { type DestinationStatus, FAILURES_TO_DEAD, nextStatus } from "../../src/destinations/verdict";
import { linkRow } from "../support/links";

describe("which URL a check fetches", () => {
  test.each([
    ["https://shop.example/p?c={click_id}", "https://shop.example/p?c="],
    ["https://shop.example/{q:sub id}/x?a={adid}&b=1", "https://shop.example//x?a=&b=1"],
    ["https://shop.example/{NotAMacro}", "https://shop.example/{NotAMacro}"],
    ["https://shop.example/plain", "https://shop.example/plain"],
  ])("%s → %s", (target, checked) => {
    expect(withEmptyMacros(target)).toBe(checked);
  });

  test.each([
    ["market://details?id=com.example.app", "https://play.google.com/store/apps/details?id=com.example.app"],
    [
      "market://details?referrer=x&id=com.example",
      "https://play.google.com/store/apps/details?id=com.example",
    ],
    ["market://search?q=x", undefined],
    ["https://play.google.com/store/apps/details?id=com.example", undefined],
  ])("Google Play app scheme %s → %s", (target, page) => {
    expect(playStorePage(target)).toBe(page as string | undefined);
  });

  test.each([
    ["https://apps.apple.com/app/id1", "https://apps.apple.com/app/id1"],
    ["http://landing.example/?x={click_id}", "http://landing.example/?x="],
    ["market://details?id=com.example", "https://play.google.com/store/apps/details?id=com.example"],
    ["myapp://open", undefined],
    ["itms-apps://apps.apple.com/app/id1", undefined],
    ["not a url", undefined],
  ])("checkableUrl(%s) = %s", (target, url) => {
    expect(checkableUrl(target)).toBe(url as string | undefined);
  });
});

describe("the verdict after each check", () => {
  const at = (second: number) => new Date(Date.UTC(2026, 11, 6, 0, 0, second));
  const ok: CheckResult = { outcome: "ok", reason: "200" };
  const notFound: CheckResult = { outcome: "failed", reason: "404" };
  const timeout: CheckResult = { outcome: "inconclusive", reason: "timeout" };

  function run(results: CheckResult[]): DestinationStatus[] {
    const seen: DestinationStatus[] = [];
    let status: DestinationStatus | undefined;
    results.forEach((result, second) => {
      status = nextStatus(status, result, at(second));
      seen.push(status);
    });
    return seen;
  }

  test("three consecutive definitive failures make it dead, since the third", () => {
    const seen = run([ok, notFound, notFound, notFound, notFound]);
    expect(seen.map((status) => status.state)).toEqual(["alive", "unknown", "unknown", "dead", "dead"]);
    expect(seen.map((status) => status.reason)).toEqual([
      "200",
      "404 (1 of 3)",
      "404 (2 of 3)",
      "404",
      "404",
    ]);
    expect(seen[3]?.since).toEqual(at(3));
    expect(seen[4]?.since).toEqual(at(3));
    expect(seen[4]?.consecutiveFailures).toBe(4);
    expect(FAILURES_TO_DEAD).toBe(3);
  });

  test("anything inconclusive never makes it dead and breaks the count", () => {
    const seen = run([notFound, notFound, timeout, notFound, notFound, timeout, timeout, timeout]);
    expect(seen.some((status) => status.state === "dead")).toBe(false);
    expect(seen.map((status) => status.consecutiveFailures)).toEqual([1, 2, 0, 1, 2, 0, 0, 0]);
  });

  test("a dead destination that answers again is alive, since then", () => {
    const seen = run([notFound, notFound, notFound, ok]);
    expect(seen[3]).toEqual({
      state: "alive",
      reason: "200",
      since: at(3),
      consecutiveFailures: 0,
      checkedAt: at(3),
    });
  });

  test("checked_at moves on every check; since only with the state", () => {
    const seen = run([ok, ok, ok]);
    expect(seen.map((status) => status.since)).toEqual([at(0), at(0), at(0)]);
    expect(seen.map((status) => status.checkedAt)).toEqual([at(0), at(1), at(2)]);
  });
});

describe("distinct targets", () => {
  test("every key's URL once, with the links using it and a platform to pose as", () => {
    const targets = distinctTargets([
      linkRow({ id: 1, targetUrl: { default: "https://l/a", ios: "https://s/1", fallback: "https://l/a" } }),
      linkRow({ id: 2, targetUrl: { default: "https://s/1", android: "https://p/2" } }),
    ]);
    expect(Object.fromEntries(targets)).toEqual({
      "https://l/a": { platform: "default", links: [1] },
      "https://s/1": { platform: "ios", links: [1, 2] },
      "https://p/2": { platform: "android", links: [2] },
    });
  });
});

describe("the host pacer", () => {
  test("one slot per interval per host, whoever asks", async () => {
    let now = 10_000;
    const slept: number[] = [];
    // A clock the test moves, and sleeps it records instead of waiting for.
    const pacer = new HostPacer(
      1_000,
      () => now,
      async (ms) => {
        slept.push(ms);
      },
    );
    await Promise.all([pacer.slot("a:443"), pacer.slot("a:443"), pacer.slot("b:443"), pacer.slot("a:443")]);
    expect(slept).toEqual([1_000, 2_000]);
    now += 5_000;
    pacer.prune();
    await pacer.slot("a:443");
    expect(slept).toEqual([1_000, 2_000]);
  });
});

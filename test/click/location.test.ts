import { describe, expect, test } from "bun:test";
import { createClickComposer } from "../../src/click/click";
import { encodeComponent } from "../../src/click/encoding";
import { detectPlatform } from "../../src/click/platform";
import { parseEvent } from "../support/consumer";
import { linkRow } from "../support/links";

const NOW = Date.parse("2026-11-28T06:10:56.789Z");
const ANDROID =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36";
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15";
const PLAY = "https://play.google.com/store/apps/details?id=com.example&referrer=utm_source%3Dadnet";

const link = linkRow({
  id: 42,
  campaign: "spring sale",
  network: "adnet",
  targetUrl: {
    android: PLAY,
    ios: "https://apps.apple.com/app/id1",
    default: "https://lp.example/{campaign}?cid={click_id}&sub={q:sub1}&t={unix}",
  },
});

let counter = 0;
const nextId = () => `019ac9a1-1f2e-7a3b-8c4d-${String(++counter).padStart(12, "0")}`;

function composer(playReferrer?: boolean) {
  return createClickComposer({
    detectPlatform,
    notFoundUrl: "https://example.com/404",
    newClickId: nextId,
    ...(playReferrer === undefined ? {} : { playReferrer }),
  });
}

function click(compose: ReturnType<typeof composer>, userAgent: string, rawQuery = "", target = link) {
  const result = compose(target, { rawQuery, ip: "203.0.113.9", userAgent, nowMs: NOW });
  return { ...result, parsed: parseEvent(result.event) };
}

describe("the Location and the event's redirect_url", () => {
  test("a Play listing carries the event's click_id in its referrer; redirect_url is that Location", () => {
    const { redirectUrl, parsed } = click(composer(), ANDROID);
    const clickId = parsed.params.get("click_id") as string;
    expect(redirectUrl).toBe(`${PLAY}%26click_id%3D${clickId}`);
    expect(parsed.params.get("redirect_url")).toBe(redirectUrl as string);
    const referrer = new URL(redirectUrl as string).searchParams.get("referrer");
    expect(new URLSearchParams(referrer ?? "").get("click_id")).toBe(clickId);
  });

  test("each click gets its own click_id in the Location", () => {
    const compose = composer();
    const a = click(compose, ANDROID);
    const b = click(compose, ANDROID);
    expect(a.redirectUrl).not.toBe(b.redirectUrl as string);
    expect(b.redirectUrl).toContain(`click_id%3D${b.parsed.params.get("click_id")}`);
  });

  test("PLAY_REFERRER off: the target exactly as it is", () => {
    const { redirectUrl, parsed } = click(composer(false), ANDROID);
    expect(redirectUrl).toBe(PLAY);
    expect(parsed.params.get("redirect_url")).toBe(PLAY);
  });

  test("macros take the event's values; redirect_url is the expanded Location", () => {
    const { redirectUrl, parsed, event } = click(composer(), "Banana", "sub1=a+b%26c&sub1=z");
    const clickId = parsed.params.get("click_id");
    expect(redirectUrl).toBe(`https://lp.example/spring%20sale?cid=${clickId}&sub=a%20b%26c&t=1795846256`);
    expect(parsed.params.get("redirect_url")).toBe(redirectUrl as string);
    expect(event).toContain(`&redirect_url=${encodeComponent(redirectUrl as string)}&`);
  });

  test("macros first, then the Play referrer: a macro may fill the advertiser's referrer", () => {
    const withMacros = linkRow({
      id: 43,
      network: "Ad Net",
      targetUrl: { android: "market://details?id={q:app}&referrer=utm_source%3D{network}" },
    });
    for (const playReferrer of [true, false]) {
      const { redirectUrl, parsed } = click(composer(playReferrer), ANDROID, "app=com.x", withMacros);
      const clickId = parsed.params.get("click_id");
      expect(redirectUrl).toBe(
        playReferrer
          ? `market://details?id=com.x&referrer=utm_source%3DAd%20Net%26click_id%3D${clickId}`
          : "market://details?id=com.x&referrer=utm_source%3DAd%20Net",
      );
      expect(parsed.params.get("redirect_url")).toBe(redirectUrl as string);
    }
  });

  test("a target with neither macros nor a listing: the same string, the same event as without the rewriting", () => {
    const on = click(composer(true), IPHONE);
    const off = click(composer(false), IPHONE);
    expect(on.redirectUrl).toBe("https://apps.apple.com/app/id1");
    expect(on.event.replace(/click_id=[^&]+/, "")).toBe(off.event.replace(/click_id=[^&]+/, ""));
  });

  test("NOT_FOUND_URL is the Location as configured", () => {
    const { redirectUrl, parsed } = click(composer(), ANDROID, "", linkRow({ id: 44 }));
    expect(redirectUrl).toBe("https://example.com/404");
    expect(parsed.params.get("redirect_url")).toBe("https://example.com/404");
  });
});

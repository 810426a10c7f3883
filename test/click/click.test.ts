import { describe, expect, test } from "bun:test";
import { createClickComposer } from "../../src/click/click";
import { EVENT_KEYS } from "../../src/click/event";
import { detectPlatform } from "../../src/click/platform";
import { parseEvent } from "../support/consumer";
import { linkRow } from "../support/links";

const NOW = Date.parse("2026-11-28T06:10:56.789Z");
const CLICK_ID = "019ac9a1-1f2e-7a3b-8c4d-5e6f7a8b9c0d";
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15";
const UUID = "44566636-6BC5-48DE-B4AE-7DF9DF06B356";

const link = linkRow({
  id: 42,
  campaign: "spring sale",
  adgroup: "g&1",
  ad: "ad=1",
  network: "adnet",
  userId: 7,
  attributionWindowIdfa: 1440,
  attributionWindowFingerprint: 60,
  targetUrl: {
    ios: "https://apps.apple.com/app/id1",
    android: "market://details?id=com.example",
    default: "https://example.com/",
  },
});

const compose = createClickComposer({
  detectPlatform,
  notFoundUrl: undefined,
  newClickId: () => CLICK_ID,
});

function md5(text: string): string {
  return new Bun.CryptoHasher("md5").update(text).digest("hex");
}

describe("composeClick", () => {
  test("writes the event byte for byte as the consumers read it", () => {
    const click = compose(link, {
      rawQuery: `adid=${UUID}&click=c1&cb=back&foo=a+b&bar=%C3%BC&idfa_md5=x`,
      ip: "203.0.113.9",
      userAgent: IPHONE,
      nowMs: NOW,
    });
    expect(click.redirectUrl).toBe("https://apps.apple.com/app/id1");
    expect(click.platform).toBe("ios");
    expect(click.invalidIdfa).toBe(false);
    expect(click.event).toBe(
      "203.0.113.9 1795846256 clicks /t/click " +
        "ad=ad%3D1&adgroup=g%261&adid=44566636-6BC5-48DE-B4AE-7DF9DF06B356" +
        "&attr_window_from=2026-11-28T06%3A10%3A56%2B00%3A00" +
        "&attr_window_till=2026-11-29T06%3A10%3A56%2B00%3A00" +
        "&campaign=spring%20sale&campaign_link_id=42&click=c1" +
        `&click_id=${CLICK_ID}` +
        "&created_at=2026-11-28T06%3A10%3A56%2B00%3A00" +
        "&idfa_comb=44566636-6BC5-48DE-B4AE-7DF9DF06B356" +
        "&lookup_key=eb2e4ebe9bf98f8c92efc5f2cb468b18" +
        "&network=adnet&partner_data=back" +
        "&redirect_url=https%3A%2F%2Fapps.apple.com%2Fapp%2Fid1" +
        "&reqparams=bar%3D%25C3%25BC%26cb%3Dback%26foo%3Da%2520b" +
        `&user_id=7 ${IPHONE}`,
    );
  });

  test("without an identifier: bare keys, fingerprint window and the ip/platform lookup key", () => {
    const click = compose(linkRow({ id: 5, targetUrl: {} }), {
      rawQuery: "",
      ip: "10.0.0.1",
      userAgent: "",
      nowMs: NOW,
    });
    expect(click.redirectUrl).toBeUndefined();
    expect(click.event).toBe(
      "10.0.0.1 1795846256 clicks /t/click ad&adgroup&adid" +
        "&attr_window_from=2026-11-28T06%3A10%3A56%2B00%3A00" +
        "&attr_window_till=2026-11-28T06%3A10%3A56%2B00%3A00" +
        `&campaign&campaign_link_id=5&click&click_id=${CLICK_ID}` +
        "&created_at=2026-11-28T06%3A10%3A56%2B00%3A00" +
        `&idfa_comb&lookup_key=${md5("10.0.0.1.")}&network&partner_data&redirect_url&reqparams=&user_id `,
    );
  });

  test("a bad idfa falls back to the ip/platform lookup key and is flagged", () => {
    const click = compose(link, { rawQuery: "idfa=fubar", ip: "127.0.0.1", userAgent: "iPhone", nowMs: NOW });
    const event = parseEvent(click.event);
    expect(click.invalidIdfa).toBe(true);
    expect(event.params.get("adid")).toBe("FUBAR");
    expect(event.params.get("idfa_comb")).toBeNull();
    expect(event.params.get("lookup_key")).toBe(md5("127.0.0.1.ios"));
    expect(event.params.get("attr_window_till")).toBe("2026-11-28T07:10:56+00:00");
  });

  test("md5 and sha1 identifiers, lower-cased, make the lookup key", () => {
    const md5Idfa = "EB2E4EBE9BF98F8C92EFC5F2CB468B18";
    const sha1Idfa = "EB2E4EBE9BF98F8C92EFC5F2CB468B18EB2EEB2E";
    for (const [query, comb] of [
      [`idfa_md5=${md5Idfa}`, md5Idfa.toLowerCase()],
      [`idfa_sha1=${sha1Idfa}`, sha1Idfa.toLowerCase()],
    ] as const) {
      const event = parseEvent(
        compose(link, { rawQuery: query, ip: "1.2.3.4", userAgent: "iPhone", nowMs: NOW }).event,
      );
      expect(event.params.get("idfa_comb")).toBe(comb);
      expect(event.params.get("lookup_key")).toBe(md5(comb));
      expect(event.params.get("adid")).toBeNull();
      expect(event.params.get("reqparams")).toBe("");
    }
  });

  test("click present but empty is click=; partner_data before cb; the UA loses CR and LF", () => {
    const event = parseEvent(
      compose(link, {
        rawQuery: "click=&partner_data=pd&cb=cb",
        ip: "::1",
        userAgent: "Agent\r\nInjected: yes",
        nowMs: NOW,
      }).event,
    );
    expect(event.ip).toBe("::1");
    expect(event.params.get("click")).toBe("");
    expect(event.params.get("partner_data")).toBe("pd");
    expect(event.params.get("reqparams")).toBe("cb=cb");
    expect(event.userAgent).toBe("AgentInjected: yes");
    expect(event.keys).toEqual([...EVENT_KEYS]);
  });

  test("NOT_FOUND_URL is the redirect when the link has none", () => {
    const withFallback = createClickComposer({ detectPlatform, notFoundUrl: "https://example.com/404" });
    const click = withFallback(linkRow({ id: 9 }), {
      rawQuery: "",
      ip: "1.1.1.1",
      userAgent: "",
      nowMs: NOW,
    });
    expect(click.redirectUrl).toBe("https://example.com/404");
    expect(parseEvent(click.event).params.get("redirect_url")).toBe("https://example.com/404");
  });

  test("click ids are lower-case, time-ordered UUIDs (v7), unique per click", () => {
    const real = createClickComposer({ detectPlatform, notFoundUrl: undefined });
    const ids = Array.from({ length: 100 }, () =>
      parseEvent(real(link, { rawQuery: "", ip: "1.1.1.1", userAgent: "", nowMs: NOW }).event).params.get(
        "click_id",
      ),
    );
    expect(new Set(ids).size).toBe(100);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe("composeClick with destination states", () => {
  const dead = new Set(["https://apps.apple.com/app/id1"]);
  const request = { rawQuery: "", ip: "203.0.113.9", userAgent: IPHONE, nowMs: NOW };
  const redirectOf = (event: string) => parseEvent(event).params.get("redirect_url");

  test("a dead target: the click and its event go to the link's live default", () => {
    const rerouting = createClickComposer({
      detectPlatform,
      notFoundUrl: undefined,
      isDead: (url) => dead.has(url),
      reroute: true,
    });
    const click = rerouting(link, request);
    expect(click).toMatchObject({ redirectUrl: "https://example.com/", deadTarget: true, rerouted: true });
    expect(redirectOf(click.event)).toBe("https://example.com/");
  });

  test("with the fallback off the dead target is counted but kept", () => {
    const detecting = createClickComposer({
      detectPlatform,
      notFoundUrl: undefined,
      isDead: (url) => dead.has(url),
      reroute: false,
    });
    const click = detecting(link, request);
    expect(click).toMatchObject({
      redirectUrl: "https://apps.apple.com/app/id1",
      deadTarget: true,
      rerouted: false,
    });
    expect(redirectOf(click.event)).toBe("https://apps.apple.com/app/id1");
  });

  test("a live target is not touched", () => {
    const rerouting = createClickComposer({
      detectPlatform,
      notFoundUrl: undefined,
      isDead: () => false,
      reroute: true,
    });
    expect(rerouting(link, request)).toMatchObject({
      redirectUrl: "https://apps.apple.com/app/id1",
      deadTarget: false,
      rerouted: false,
    });
  });
});

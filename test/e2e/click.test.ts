import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { EVENT_KEYS } from "../../src/click/event";
import type { RunningService } from "../../src/server";
import { createLink } from "../support/api";
import { parseEvent } from "../support/consumer";
import type { RedisServer } from "../support/redis";
import { click, startServiceWithRedis } from "../support/service";

// Real redis-server, PostgreSQL and service processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "test-secret";
const ERROR_PAGE = "https://example.com/error";
const UUID = "44566636-6BC5-48DE-B4AE-7DF9DF06B356";
// The original's test value: md5 of the lower-cased UUID.
const UUID_LOOKUP_KEY = "eb2e4ebe9bf98f8c92efc5f2cb468b18";
const TARGETS = {
  ios: "https://apps.apple.com/app/id1",
  android: "https://play.google.com/store/apps/details?id=com.example",
  default: "https://example.com/landing",
};
const AGENTS = {
  ios: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15",
  android: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
  default: "Banana",
} as const;

let redis: RedisServer;
let service: RunningService;

function md5(text: string): string {
  return new Bun.CryptoHasher("md5").update(text).digest("hex");
}

async function onlyEvent() {
  const events = await redis.events();
  expect(events).toHaveLength(1);
  return parseEvent(events[0] as string);
}

beforeAll(async () => {
  // The original's redirects, byte for byte: a Play listing without the click id in its referrer
  // (test/e2e/attribution.test.ts has the default, PLAY_REFERRER=on).
  ({ redis, service } = await startServiceWithRedis({
    API_SECRET_KEY: SECRET,
    ERROR_PAGE_URL: ERROR_PAGE,
    PLAY_REFERRER: "off",
  }));
  const base = { campaign: "camp", adgroup: "group", ad: "ad", network: "net", user_id: 1 };
  await createLink(service.url, SECRET, { id: 1, ...base, attribution_window_idfa: 60, target_url: TARGETS });
  await createLink(service.url, SECRET, { id: 2, ...base, target_url: {} });
});

afterAll(async () => {
  await service?.stop();
  await redis?.stop();
});

beforeEach(() => redis.clear());

describe("GET /click/:id/go", () => {
  for (const key of ["adid", "idfa", "gadid"]) {
    for (const platform of ["ios", "android", "default"] as const) {
      test(`redirects ${platform} with ${key} and stores the event`, async () => {
        const response = await click(service.url, `/click/1/go?${key}=${UUID}`, {
          headers: { "user-agent": AGENTS[platform] },
        });
        expect(response.status).toBe(307);
        expect(response.headers.get("location")).toBe(TARGETS[platform]);
        const event = await onlyEvent();
        expect(event.ip).toBe("127.0.0.1");
        expect(event.topic).toBe("clicks");
        expect(event.path).toBe("/t/click");
        expect(event.userAgent).toBe(AGENTS[platform]);
        expect(event.keys).toEqual([...EVENT_KEYS]);
        expect(event.params.get("adid")).toBe(UUID);
        expect(event.params.get("idfa_comb")).toBe(UUID);
        expect(event.params.get("lookup_key")).toBe(UUID_LOOKUP_KEY);
        expect(event.params.get("campaign_link_id")).toBe("1");
        expect(event.params.get("campaign")).toBe("camp");
        expect(event.params.get("adgroup")).toBe("group");
        expect(event.params.get("ad")).toBe("ad");
        expect(event.params.get("network")).toBe("net");
        expect(event.params.get("user_id")).toBe("1");
        expect(event.params.get("redirect_url")).toBe(TARGETS[platform]);
      });
    }
  }

  test("an undashed lower-case adid gets dashes and upper case", async () => {
    await click(service.url, `/click/1/go?gadid=${UUID.replaceAll("-", "").toLowerCase()}`, {
      headers: { "user-agent": "iPhone" },
    });
    const event = await onlyEvent();
    expect(event.params.get("adid")).toBe(UUID);
    expect(event.params.get("idfa_comb")).toBe(UUID);
    expect(event.params.get("lookup_key")).toBe(UUID_LOOKUP_KEY);
  });

  test("md5 and sha1 identifiers", async () => {
    const idfaMd5 = "eb2e4ebe9bf98f8c92efc5f2cb468b18";
    const idfaSha1 = "eb2e4ebe9bf98f8c92efc5f2cb468b18eb2eeb2e";
    await click(service.url, `/click/1/go?idfa_md5=${idfaMd5}`, { headers: { "user-agent": "iPhone" } });
    let event = await onlyEvent();
    expect(event.params.get("idfa_comb")).toBe(idfaMd5);
    expect(event.params.get("lookup_key")).toBe(md5(idfaMd5));
    await redis.clear();
    await click(service.url, `/click/1/go?idfa_sha1=${idfaSha1}`, { headers: { "user-agent": "iPhone" } });
    event = await onlyEvent();
    expect(event.params.get("idfa_comb")).toBe(idfaSha1);
    expect(event.params.get("lookup_key")).toBe(md5(idfaSha1));
  });

  test("a bad idfa falls back to the ip/platform lookup key and the fingerprint window", async () => {
    const response = await click(service.url, "/click/1/go?idfa=fubar", {
      headers: { "user-agent": "iPhone" },
    });
    expect(response.headers.get("location")).toBe(TARGETS.ios);
    const event = await onlyEvent();
    expect(event.params.get("adid")).toBe("FUBAR");
    expect(event.params.get("idfa_comb")).toBeNull();
    expect(event.params.get("lookup_key")).toBe(md5("127.0.0.1.ios"));
    expect(event.params.get("attr_window_till")).toBe(event.params.get("created_at") ?? "missing");
  });

  test("the idfa window applies with an identifier, times are ISO seconds with offset", async () => {
    await click(service.url, `/click/1/go?adid=${UUID}`, { headers: { "user-agent": "iPhone" } });
    const event = await onlyEvent();
    const created = event.params.get("created_at") ?? "";
    expect(created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    expect(Date.parse(created) / 1000).toBe(Number(event.timestamp));
    expect(event.params.get("attr_window_from")).toBe(created);
    expect(Date.parse(event.params.get("attr_window_till") ?? "") - Date.parse(created)).toBe(60 * 60_000);
  });

  test("unknown parameters travel in reqparams; own fields do not", async () => {
    await click(
      service.url,
      "/click/1/go?adid=x&idfa=y&gadid=z&click=c&idfa_md5=m&idfa_sha1=s&partner_data=p&cb=back&zeta=1&alpha=a+b&alpha=last&empty=",
      { headers: { "user-agent": "iPhone" } },
    );
    const event = await onlyEvent();
    expect(event.params.get("reqparams")).toBe("alpha=last&cb=back&empty=&zeta=1");
    expect(event.params.get("click")).toBe("c");
    expect(event.params.get("partner_data")).toBe("p");
  });

  test("cb is partner_data when partner_data is absent or blank", async () => {
    await click(service.url, "/click/1/go?partner_data=&cb=back", { headers: { "user-agent": "iPhone" } });
    expect((await onlyEvent()).params.get("partner_data")).toBe("back");
  });

  test("an unknown link goes to the error page and stores nothing", async () => {
    for (const path of ["/click/999/go", "/click/abc/go", "/click/99999999999/go", "/click/-1/go"]) {
      const response = await click(service.url, path);
      expect(response.status).toBe(307);
      expect(response.headers.get("location")).toBe(ERROR_PAGE);
    }
    expect(await redis.events()).toEqual([]);
  });

  test("a link with no target answers 404 and still stores the event, redirect_url bare", async () => {
    const response = await click(service.url, "/click/2/go", { headers: { "user-agent": "iPhone" } });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("");
    const event = await onlyEvent();
    expect(event.params.get("redirect_url")).toBeNull();
    expect(event.params.get("campaign_link_id")).toBe("2");
  });

  test("an empty User-Agent leaves the line ending in a space", async () => {
    await click(service.url, "/click/1/go", { headers: { "user-agent": "" } });
    const [line] = await redis.events();
    expect(line?.endsWith("&user_id=1 ")).toBe(true);
  });
});

describe("what the consumer reads back", () => {
  test("every field, including a value with spaces, & = + / ~ and non-ASCII", async () => {
    const tricky = "a b&c=d+e/f~g ü 日本 😀";
    const agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Tricky/1.0 (a b)";
    const before = Math.floor(Date.now() / 1000);
    const response = await click(
      service.url,
      `/click/1/go?adid=${UUID}&click=${encodeURIComponent(tricky)}&partner_data=${encodeURIComponent(
        tricky,
      )}&extra=${encodeURIComponent(tricky)}`,
      { headers: { "user-agent": agent } },
    );
    expect(response.status).toBe(307);
    const [line] = await redis.events();
    const fields = (line ?? "").split(/\s+/);
    expect(fields.slice(2, 4)).toEqual(["clicks", "/t/click"]);
    const event = parseEvent(line ?? "");
    expect(event.ip).toBe("127.0.0.1");
    expect(Number(event.timestamp)).toBeGreaterThanOrEqual(before);
    expect(Number(event.timestamp)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(event.userAgent).toBe(agent);
    expect(event.keys).toEqual([...EVENT_KEYS]);
    const created = event.params.get("created_at") ?? "";
    expect(Object.fromEntries(event.params)).toEqual({
      ad: "ad",
      adgroup: "group",
      adid: UUID,
      attr_window_from: created,
      attr_window_till: new Date(Date.parse(created) + 3_600_000).toISOString().replace(".000Z", "+00:00"),
      campaign: "camp",
      campaign_link_id: "1",
      click: tricky,
      click_id: event.params.get("click_id") ?? "missing",
      created_at: created,
      idfa_comb: UUID,
      lookup_key: UUID_LOOKUP_KEY,
      network: "net",
      partner_data: tricky,
      redirect_url: TARGETS.ios,
      reqparams: "extra=a%20b%26c%3Dd%2Be%2Ff~g%20%C3%BC%20%E6%97%A5%E6%9C%AC%20%F0%9F%98%80",
      user_id: "1",
    });
    expect(event.params.get("click_id")).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(line).toContain("&click=a%20b%26c%3Dd%2Be%2Ff~g%20%C3%BC%20%E6%97%A5%E6%9C%AC%20%F0%9F%98%80&");
  });
});

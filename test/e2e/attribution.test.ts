import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { encodeComponent } from "../../src/click/encoding";
import type { RunningService } from "../../src/server";
import { callApi, createLink } from "../support/api";
import { parseEvent } from "../support/consumer";
import type { RedisServer } from "../support/redis";
import { click, startServiceWithRedis } from "../support/service";

// Real redis-server, PostgreSQL and service processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "test-secret";
const ANDROID =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36";
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15";
const GAID = "38400000-8CF0-11BD-B23E-10B96E40000D";
const TARGETS = {
  android: "https://play.google.com/store/apps/details?id=com.example&referrer=utm_source%3Dadnet#details",
  ios: "https://apps.apple.com/app/id1?ct={click_id}",
  default: "https://lp.example/{campaign}?cid={click_id}&sub={q:sub1}&gaid={adid}&p={platform}&j={%22k%22:1}",
};
const LINK = { id: 1, campaign: "spring sale", network: "adnet", target_url: TARGETS };

interface Running {
  redis: RedisServer;
  service: RunningService;
}

async function start(env: Record<string, string> = {}): Promise<Running> {
  const running = await startServiceWithRedis({ API_SECRET_KEY: SECRET, ...env });
  await createLink(running.service.url, SECRET, LINK);
  return running;
}

async function clickOnce(running: Running, path: string, userAgent: string) {
  const response = await click(running.service.url, path, { headers: { "user-agent": userAgent } });
  expect(response.status).toBe(307);
  const events = await running.redis.events();
  expect(events).toHaveLength(1);
  return { location: response.headers.get("location") as string, event: parseEvent(events[0] as string) };
}

describe("PLAY_REFERRER on (the default) and macros, over a real socket", () => {
  let running: Running;
  beforeAll(async () => {
    running = await start();
  });
  afterAll(async () => {
    await running?.service.stop();
    await running?.redis.stop();
  });
  beforeEach(() => running.redis.clear());

  test("a Play listing's referrer carries the event's click_id; redirect_url is the Location", async () => {
    const { location, event } = await clickOnce(running, `/click/1/go?gadid=${GAID}`, ANDROID);
    const clickId = event.params.get("click_id") as string;
    expect(clickId).toMatch(/^[0-9a-f-]{36}$/);
    expect(location).toBe(
      `https://play.google.com/store/apps/details?id=com.example&referrer=utm_source%3Dadnet%26click_id%3D${clickId}#details`,
    );
    const referrer = new URLSearchParams(new URL(location).searchParams.get("referrer") ?? "");
    expect(referrer.get("click_id")).toBe(clickId);
    expect(referrer.get("utm_source")).toBe("adnet");
    expect(event.params.get("redirect_url")).toBe(location);
  });

  test("macros take the event's values, encoded; redirect_url is the Location", async () => {
    const { location, event } = await clickOnce(
      running,
      `/click/1/go?adid=${GAID}&sub1=caf%C3%A9+%26+%3D%23%25&sub1=second`,
      "Banana",
    );
    const clickId = event.params.get("click_id") as string;
    expect(location).toBe(
      `https://lp.example/spring%20sale?cid=${clickId}&sub=caf%C3%A9%20%26%20%3D%23%25&gaid=${GAID}&p=&j={%22k%22:1}`,
    );
    expect(event.params.get("redirect_url")).toBe(location);
    expect(event.params.get("adid")).toBe(GAID);
  });

  test("the event carries the Location encoded once, as every value", async () => {
    const { location } = await clickOnce(running, "/click/1/go", IPHONE);
    const [event] = await running.redis.events();
    expect(event).toContain(`&redirect_url=${encodeComponent(location)}&`);
    expect(location).toMatch(/^https:\/\/apps\.apple\.com\/app\/id1\?ct=[0-9a-f-]{36}$/);
  });

  test("an unknown macro is refused with 400 naming the token and the target key", async () => {
    const payload = JSON.stringify({ id: 2, target_url: { ios: "https://x/?c={clik_id}" } });
    const response = await callApi(running.service.url, "create", { payload, secret: SECRET });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { field: string; error: string };
    expect(body.field).toBe("target_url.ios");
    expect(body.error).toStartWith("target_url.ios has an unknown macro {clik_id} (macros: {click_id}");
    const unknown = await click(running.service.url, "/click/2/go", { headers: { "user-agent": IPHONE } });
    expect(unknown.status).toBe(404);
  });
});

describe("PLAY_REFERRER=off", () => {
  let running: Running;
  beforeAll(async () => {
    running = await start({ PLAY_REFERRER: "off" });
  });
  afterAll(async () => {
    await running?.service.stop();
    await running?.redis.stop();
  });

  test("the Play listing exactly as the target says, in the Location and in redirect_url", async () => {
    const { location, event } = await clickOnce(running, `/click/1/go?gadid=${GAID}`, ANDROID);
    expect(location).toBe(TARGETS.android);
    expect(event.params.get("redirect_url")).toBe(TARGETS.android);
  });
});

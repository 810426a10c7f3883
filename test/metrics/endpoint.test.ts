import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { RunningService } from "../../src/server";
import { callApi } from "../support/api";
import { Scrape } from "../support/metrics";
import { freePort } from "../support/ports";
import { sharedPostgres } from "../support/postgres";
import { RedisServer } from "../support/redis";
import { click, migrate, startTestService } from "../support/service";

// Real redis-server, PostgreSQL and service processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "api-secret-for-metrics-tests";
const TOKEN = "metrics-token-for-the-tests";
const IOS =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";
const ANDROID =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36";
const WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
const BOT = "Googlebot/2.1 (+http://www.google.com/bot.html)";

let redis: RedisServer;
let service: RunningService;
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = await (await sharedPostgres()).createDatabase();
  await migrate(databaseUrl);
  redis = await RedisServer.start();
  service = await startTestService({
    DATABASE_URL: databaseUrl,
    REDIS_URL_CLICKSTORE_1: redis.url,
    API_SECRET_KEY: SECRET,
    METRICS_PORT: String(freePort()),
    METRICS_TOKEN: TOKEN,
  });
});

afterAll(async () => {
  await service?.stop();
  await redis?.stop();
});

const as = (userAgent: string) => ({ headers: { "user-agent": userAgent } });

async function expectStatus(response: Promise<Response>, status: number): Promise<void> {
  expect((await response).status).toBe(status);
}

describe("/metrics after a known sequence of API calls and clicks", () => {
  beforeAll(async () => {
    const api = (action: "create" | "delete", link: object) =>
      callApi(service.url, action, { payload: JSON.stringify(link), secret: SECRET });
    await expectStatus(
      api("create", {
        id: 1,
        target_url: { ios: "https://apps.apple.com/app/id1", default: "https://example.com/1" },
      }),
      200,
    );
    await expectStatus(api("create", { id: 2, target_url: { ios: "https://apps.apple.com/app/id2" } }), 200);
    await expectStatus(api("create", { id: 3, target_url: { default: "https://example.com/3" } }), 200);
    await expectStatus(api("delete", { id: 3 }), 200);
    await expectStatus(callApi(service.url, "create", { payload: "not json", secret: SECRET }), 400);
    await expectStatus(api("delete", { id: "three" }), 400);
    await expectStatus(
      fetch(`${service.url}/api/v1/create`, {
        method: "POST",
        body: new URLSearchParams({ campaign_link: "{}" }),
      }),
      404,
    );
    await expectStatus(
      callApi(service.url, "create", { payload: '{"id":4}', secret: "not-the-secret" }),
      404,
    );
    await expectStatus(api("create", { id: 5, campaign: "x".repeat(70_000) }), 413);

    for (let i = 0; i < 3; i++) await expectStatus(click(service.url, "/click/1/go", as(IOS)), 307);
    await expectStatus(click(service.url, "/click/1/go?idfa=not-an-id", as(IOS)), 307);
    await expectStatus(click(service.url, "/click/1/go", as(ANDROID)), 307);
    await expectStatus(click(service.url, "/click/2/go", as(WINDOWS)), 404);
    await expectStatus(click(service.url, "/click/2/go", as(BOT)), 404);
    await expectStatus(click(service.url, "/click/3/go", as(IOS)), 404);
    await expectStatus(click(service.url, "/click/3/go", as(IOS)), 404);
    await expectStatus(click(service.url, "/click/abc/go", as(IOS)), 404);
  });

  const scrape = async () => Scrape.of(await fetch(`${service.metricsUrl}/metrics`));

  test("clicks by platform and outcome, exactly", async () => {
    expect((await scrape()).nonZero("clicks_total")).toEqual({
      '{outcome="redirected",platform="ios"}': 4,
      '{outcome="redirected",platform="android"}': 1,
      '{outcome="not_found",platform="windows"}': 1,
      '{outcome="not_found",platform="none"}': 1,
      '{outcome="unknown_link",platform="unexamined"}': 3,
    });
  });

  test("invalid idfa, counted", async () => {
    expect((await scrape()).value("clicks_invalid_idfa_total")).toBe(1);
  });

  test("API requests by action and result, exactly", async () => {
    expect((await scrape()).nonZero("clicks_api_requests_total")).toEqual({
      '{action="create",result="ok"}': 3,
      '{action="delete",result="ok"}': 1,
      '{action="create",result="invalid"}': 1,
      '{action="delete",result="invalid"}': 1,
      '{action="create",result="rejected"}': 2,
      '{action="create",result="too_large"}': 1,
    });
  });

  test("pushes, latency and connection of the clickstore node, matching what Redis holds", async () => {
    const result = await scrape();
    const node = `127.0.0.1:${redis.port}`;
    expect(await redis.events()).toHaveLength(7);
    expect(result.nonZero("clicks_clickstore_pushes_total")).toEqual({ [`{node="${node}",result="ok"}`]: 7 });
    expect(result.value("clicks_clickstore_push_duration_seconds_count", { node })).toBe(7);
    expect(result.value("clicks_clickstore_push_duration_seconds_bucket", { node, le: "+Inf" })).toBe(7);
    expect(result.value("clicks_clickstore_connected", { node })).toBe(1);
  });

  test("link cache size, hits and misses", async () => {
    const result = await scrape();
    expect(result.value("clicks_link_cache_links")).toBe(2);
    // Link 3 is deleted, and every change reaches the cache: its two clicks ask no database of their
    // own. One may still join the re-read that the deletion's notification started (a miss).
    const { '{result="hit"}': hits, ...others } = result.nonZero("clicks_link_cache_lookups_total");
    expect(hits).toBe(7);
    const unasked = others['{result="unasked"}'] ?? 0;
    expect(others).toEqual(
      unasked === 2 ? { '{result="unasked"}': 2 } : { '{result="unasked"}': 1, '{result="miss"}': 1 },
    );
  });

  test("process metrics", async () => {
    const result = await scrape();
    expect(result.value("process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(result.value("process_cpu_seconds_total")).toBeGreaterThan(0);
  });

  test("the public port, with the token, shows the same counts", async () => {
    const response = await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    const viaPublic = await Scrape.of(response);
    const viaMetricsPort = await scrape();
    for (const name of ["clicks_total", "clicks_api_requests_total", "clicks_link_cache_lookups_total"]) {
      expect(viaPublic.nonZero(name)).toEqual(viaMetricsPort.nonZero(name));
    }
  });
});

describe("who may read /metrics", () => {
  test("on the public port, no token or a wrong one is refused", async () => {
    for (const authorization of [
      undefined,
      "Bearer wrong-token-wrong-token",
      `Basic ${TOKEN}`,
      `Bearer ${TOKEN}x`,
      TOKEN,
    ]) {
      const response = await fetch(
        `${service.url}/metrics`,
        authorization ? { headers: { authorization } } : {},
      );
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
      expect(await response.text()).not.toContain("clicks_total");
    }
  });

  test("the metrics port serves /metrics and nothing else", async () => {
    expect((await fetch(`${service.metricsUrl}/metrics`)).status).toBe(200);
    expect((await click(service.metricsUrl ?? "", "/click/1/go", as(IOS))).status).toBe(404);
    expect((await fetch(`${service.metricsUrl}/check`)).status).toBe(404);
    expect((await fetch(`${service.metricsUrl}/metrics`, { method: "POST" })).status).toBe(404);
  });

  test("without METRICS_TOKEN, /metrics does not exist on the public port, even with a token", async () => {
    const plain = await startTestService({ DATABASE_URL: databaseUrl, REDIS_URL_CLICKSTORE_1: redis.url });
    try {
      expect(plain.metricsUrl).toBeUndefined();
      expect((await fetch(`${plain.url}/metrics`)).status).toBe(404);
      const withToken = await fetch(`${plain.url}/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(withToken.status).toBe(404);
    } finally {
      await plain.stop();
    }
  });
});

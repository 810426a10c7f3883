import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import type { RunningService } from "../../src/server";
import { createLink } from "../support/api";
import { Scrape } from "../support/metrics";
import { freePort, waitFor } from "../support/ports";
import { sharedPostgres } from "../support/postgres";
import { RedisServer } from "../support/redis";
import { click, LogLines, migrate, startTestService } from "../support/service";

// Real redis-server, PostgreSQL and service processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "api-secret-for-failure-tests";
const IOS =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";

let redis: RedisServer;
let service: RunningService;
const logs = new LogLines();
let node: string;

beforeAll(async () => {
  const databaseUrl = await (await sharedPostgres()).createDatabase();
  await migrate(databaseUrl);
  redis = await RedisServer.start();
  node = `127.0.0.1:${redis.port}`;
  service = await startTestService(
    {
      DATABASE_URL: databaseUrl,
      REDIS_URL_CLICKSTORE_1: redis.url,
      REDIS_PUSH_TIMEOUT_MS: "100",
      API_SECRET_KEY: SECRET,
      METRICS_PORT: String(freePort()),
    },
    logs,
  );
  await createLink(service.url, SECRET, { id: 1, target_url: { ios: "https://apps.apple.com/1" } });
});

afterAll(async () => {
  redis?.resume();
  await service?.stop();
  await redis?.stop();
});

const scrape = async () => Scrape.of(await fetch(`${service.metricsUrl}/metrics`));

test("a push to a node that never answers is counted as a timeout; the click as an error", async () => {
  redis.pause();
  try {
    const response = await click(service.url, "/click/1/go", { headers: { "user-agent": IOS } });
    expect(response.status).toBe(307);
  } finally {
    redis.resume();
  }
  const result = await scrape();
  expect(result.nonZero("clicks_clickstore_pushes_total")).toEqual({
    [`{node="${node}",result="timeout"}`]: 1,
  });
  expect(result.nonZero("clicks_total")).toEqual({ '{outcome="error",platform="ios"}': 1 });
  // The push waited for its timeout (100 ms) before it failed.
  expect(result.value("clicks_clickstore_push_duration_seconds_bucket", { node, le: "0.05" })).toBe(0);
  expect(result.value("clicks_clickstore_push_duration_seconds_count", { node })).toBe(1);
});

test("a node that is gone: connection 0, pushes counted as errors, the error logged with a request id", async () => {
  await redis.stop();
  await waitFor("the connection gauge to drop", async () => {
    return (await scrape()).value("clicks_clickstore_connected", { node }) === 0 || undefined;
  });
  const response = await click(service.url, "/click/1/go", {
    headers: { "user-agent": IOS, "fly-request-id": "01HZY3K4N5-fra" },
  });
  expect(response.status).toBe(307);

  const result = await scrape();
  expect(result.value("clicks_clickstore_pushes_total", { node, result: "error" })).toBe(1);
  expect(result.value("clicks_total", { platform: "ios", outcome: "error" })).toBe(2);

  const notStored = logs.entries().filter((entry) => entry.msg === "click event not stored");
  expect(notStored).toHaveLength(2);
  expect(notStored[1]).toMatchObject({ level: "error", linkId: 1, requestId: "01HZY3K4N5-fra" });
  // Without an id from the proxy, one is made (a UUIDv7) for the line.
  expect(String(notStored[0]?.requestId)).toMatch(
    /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  );
  // The node's state change is a line of its own (once ioredis has failed to reconnect).
  await waitFor("the connection error line", () =>
    logs.entries().some((entry) => entry.msg === "clickstore connection error" && entry.level === "warn")
      ? true
      : undefined,
  );
});

import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import type { RunningService } from "../../src/server";
import { createLink } from "../support/api";
import { Scrape } from "../support/metrics";
import { freePort, waitFor } from "../support/ports";
import { sharedPostgres } from "../support/postgres";
import { RedisServer } from "../support/redis";
import { click, LogLines, migrate, startTestService, tempDir } from "../support/service";

// Real redis-server, PostgreSQL and service processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "api-secret-for-failure-tests";
const IOS =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";

let redis: RedisServer;
let service: RunningService;
let databaseUrl: string;
const logs = new LogLines();
let node: string;

beforeAll(async () => {
  databaseUrl = await (await sharedPostgres()).createDatabase();
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

test("a push to a node that never answers is counted as a timeout; the click, kept in the spool, as redirected", async () => {
  redis.pause();
  try {
    const response = await click(service.url, "/click/1/go", { headers: { "user-agent": IOS } });
    expect(response.status).toBe(307);
    const result = await scrape();
    // The click's push, and maybe the drainer's first try at the spooled event: all timeouts.
    expect(Object.keys(result.nonZero("clicks_clickstore_pushes_total"))).toEqual([
      `{node="${node}",result="timeout"}`,
    ]);
    expect(result.nonZero("clicks_total")).toEqual({ '{outcome="redirected",platform="ios"}': 1 });
    expect(result.value("clicks_spool_events")).toBe(1);
    // Each push waited for its timeout (100 ms) before it failed.
    expect(result.value("clicks_clickstore_push_duration_seconds_bucket", { node, le: "0.05" })).toBe(0);
  } finally {
    redis.resume();
  }
  await waitFor("the spool to drain", async () =>
    (await scrape()).value("clicks_spool_events") === 0 ? true : undefined,
  );
  expect((await scrape()).value("clicks_clickstore_pushes_total", { node, result: "ok" })).toBeGreaterThan(0);
});

test("a node that is gone: connection 0, pushes counted as errors, the click kept in the spool", async () => {
  await redis.stop();
  await waitFor("the connection gauge to drop", async () => {
    return (await scrape()).value("clicks_clickstore_connected", { node }) === 0 || undefined;
  });
  const before = (await scrape()).value("clicks_clickstore_pushes_total", { node, result: "error" }) ?? 0;
  const response = await click(service.url, "/click/1/go", { headers: { "user-agent": IOS } });
  expect(response.status).toBe(307);

  const result = await scrape();
  expect(result.value("clicks_clickstore_pushes_total", { node, result: "error" })).toBe(before + 1);
  expect(result.value("clicks_total", { platform: "ios", outcome: "redirected" })).toBe(2);
  expect(result.value("clicks_total", { platform: "ios", outcome: "error" })).toBe(0);
  expect(result.value("clicks_spool_events")).toBe(1);
  // The node's state change is a line of its own (once ioredis has failed to reconnect).
  await waitFor("the connection error line", () =>
    logs.entries().some((entry) => entry.msg === "clickstore connection error" && entry.level === "warn")
      ? true
      : undefined,
  );
});

test("a click whose event cannot be stored at all: counted as an error, logged with a request id", async () => {
  const dataDir = tempDir();
  // The embedded clickstore's file is /dev/full: it opens, and every append fails (ENOSPC).
  symlinkSync("/dev/full", join(dataDir, "clicks.log"));
  const fileLogs = new LogLines();
  const embedded = await startTestService(
    {
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      API_SECRET_KEY: SECRET,
      METRICS_PORT: String(freePort()),
    },
    fileLogs,
  );
  try {
    const headers = { "user-agent": IOS, "fly-request-id": "01HZY3K4N5-fra" };
    expect((await click(embedded.url, "/click/1/go", { headers })).status).toBe(307);
    const result = await Scrape.of(await fetch(`${embedded.metricsUrl}/metrics`));
    expect(result.nonZero("clicks_total")).toEqual({ '{outcome="error",platform="ios"}': 1 });
    const notStored = fileLogs.entries().filter((entry) => entry.msg === "click event not stored");
    expect(notStored).toHaveLength(1);
    expect(notStored[0]).toMatchObject({ level: "error", linkId: 1, requestId: "01HZY3K4N5-fra" });
  } finally {
    await embedded.stop();
  }
});

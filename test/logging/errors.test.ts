import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import type { RunningService } from "../../src/server";
import { callApi } from "../support/api";
import { Scrape } from "../support/metrics";
import { freePort } from "../support/ports";
import { PostgresServer } from "../support/postgres";
import { RedisServer } from "../support/redis";
import { click, LogLines, migrate, startTestService } from "../support/service";

// Real redis-server, PostgreSQL and service processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "api-secret-for-error-tests";

let postgres: PostgresServer;
let redis: RedisServer;
let service: RunningService;
const logs = new LogLines();

beforeAll(async () => {
  // A cluster of its own: the test stops it to make the database fail.
  postgres = await PostgresServer.start();
  const databaseUrl = await postgres.createDatabase();
  await migrate(databaseUrl);
  redis = await RedisServer.start();
  service = await startTestService(
    {
      DATABASE_URL: databaseUrl,
      REDIS_URL_CLICKSTORE_1: redis.url,
      API_SECRET_KEY: SECRET,
      METRICS_PORT: String(freePort()),
    },
    logs,
  );
  await postgres.stop();
});

afterAll(async () => {
  await service?.stop();
  await redis?.stop();
});

const failures = () => logs.entries().filter((entry) => entry.msg === "request failed");

test("a click is no failure when the database is: a link not in memory is an unknown link", async () => {
  // Link 5 is not cached and the database is stopped: the click does not wait on it or fail with it.
  const response = await click(service.url, "/click/5/go");
  expect(response.status).toBe(404);
  expect(failures()).toEqual([]);

  const scrape = await Scrape.of(await fetch(`${service.metricsUrl}/metrics`));
  expect(scrape.nonZero("clicks_total")).toEqual({ '{outcome="unknown_link",platform="unexamined"}': 1 });
});

test("a failed API change answers 500 with a request id, the same as in its log line; a proxy's id is kept", async () => {
  const response = await callApi(service.url, "create", { payload: '{"id":6}', secret: SECRET });
  expect(response.status).toBe(500);
  const body = (await response.json()) as Record<string, unknown>;
  const requestId = response.headers.get("x-request-id");
  expect(requestId).toBeString();
  expect(body).toEqual({ status: "error", error: "internal error", errorId: requestId });
  expect(JSON.stringify(body)).not.toContain("stack");
  expect(failures().at(-1)).toMatchObject({
    level: "error",
    requestId,
    method: "POST",
    path: "/api/v1/create",
    err: { message: expect.any(String) },
  });

  const viaProxy = await callApi(service.url, "delete", {
    payload: '{"id":6}',
    secret: SECRET,
    headers: { "x-request-id": "proxy-id-42" },
  });
  expect(viaProxy.status).toBe(500);
  expect(viaProxy.headers.get("x-request-id")).toBe("proxy-id-42");
  expect(failures().at(-1)).toMatchObject({ requestId: "proxy-id-42", path: "/api/v1/delete" });

  const scrape = await Scrape.of(await fetch(`${service.metricsUrl}/metrics`));
  expect(scrape.nonZero("clicks_api_requests_total")).toEqual({
    '{action="create",result="error"}': 1,
    '{action="delete",result="error"}': 1,
  });
  expect(scrape.value("clicks_failed_requests_total", { reason: "error" })).toBe(2);
});

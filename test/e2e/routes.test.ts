import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { RunningService } from "../../src/server";
import { waitFor } from "../support/ports";
import { sharedPostgres } from "../support/postgres";
import { RedisServer } from "../support/redis";
import { click, migrate, startTestService } from "../support/service";

// Real redis-server, PostgreSQL and service processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

let redis: RedisServer;
let second: RedisServer;
let service: RunningService;

beforeAll(async () => {
  const database = await (await sharedPostgres()).createDatabase();
  await migrate(database);
  redis = await RedisServer.start();
  second = await RedisServer.start();
  service = await startTestService({
    DATABASE_URL: database,
    REDIS_URL_CLICKSTORE_1: redis.url,
    REDIS_URL_CLICKSTORE_2: second.url,
  });
});

afterAll(async () => {
  await service?.stop();
  await redis?.stop();
  await second?.stop();
});

describe("static routes", () => {
  test("icons are a 43-byte transparent GIF and store nothing", async () => {
    for (const path of ["/favicon.ico", "/apple-touch-icon.png", "/apple-touch-icon-precomposed.png"]) {
      const response = await click(service.url, path);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("image/gif");
      const body = new Uint8Array(await response.arrayBuffer());
      expect(body.length).toBe(43);
      expect(new TextDecoder().decode(body.slice(0, 6))).toBe("GIF89a");
    }
    expect(await redis.events()).toEqual([]);
  });

  test("robots.txt keeps crawlers out", async () => {
    const response = await click(service.url, "/robots.txt");
    expect(await response.text()).toBe("User-agent: *\nDisallow: /\n");
  });

  test("anything else is 404 with no event", async () => {
    for (const path of ["/", "/click", "/click/1", "/click/1/go/more", "/api/v1/create", "/apple-x.jpg"]) {
      expect((await click(service.url, path)).status).toBe(404);
    }
    expect(await redis.events()).toEqual([]);
    expect(await second.events()).toEqual([]);
  });
});

describe("/check", () => {
  // 503 only when neither a node nor the spool can take a click: test/clickstore/spool-full.test.ts.
  test("OK while a clickstore answers; with Accept: application/json, each node's state", async () => {
    let response = await click(service.url, "/check");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("OK");
    await second.stop();
    response = await click(service.url, "/check");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("OK");
    response = await click(service.url, "/check", { headers: { accept: "application/json" } });
    const health = (await response.json()) as { nodes: Array<{ answersPing: boolean }> };
    expect(health.nodes.map((node) => node.answersPing)).toEqual([true, false]);
    await second.start();
    await waitFor(
      "the clickstore to reconnect",
      async () => (await click(service.url, "/check")).status === 200,
    );
  });
});

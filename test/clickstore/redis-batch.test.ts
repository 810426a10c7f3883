import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisNode } from "../../src/clickstore/redis-node";
import { createLogger } from "../../src/logger";
import { Metrics } from "../../src/metrics/metrics";
import { RedisServer } from "../support/redis";

let redis: RedisServer;
let node: RedisNode;

beforeAll(async () => {
  redis = await RedisServer.start();
  node = new RedisNode({
    url: redis.url,
    pushTimeoutMs: 1_000,
    logger: createLogger("silent"),
    metrics: new Metrics().clickstoreNode("test"),
  });
  expect(await node.ready(5_000)).toBe(true);
});

afterAll(async () => {
  await node.close();
  await redis.stop();
});

async function rpushCalls(): Promise<number> {
  const stats = await redis.client().info("commandstats");
  const match = /cmdstat_rpush:calls=(\d+)/.exec(stats);
  return match ? Number(match[1]) : 0;
}

describe("RedisNode batches the clicks of one event-loop turn", () => {
  test("concurrent clicks share RPUSHes, and every event is stored once, in order", async () => {
    await redis.clear();
    await redis.client().config("RESETSTAT");
    const events = Array.from({ length: 600 }, (_, i) => `event ${i}`);
    await Promise.all(events.map((event) => node.push(event)));
    expect(await redis.events()).toEqual(events);
    const calls = await rpushCalls();
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(events.length / 10);
  });

  test("a push made after the others resolves with its own event stored", async () => {
    await redis.clear();
    await node.push("first");
    await node.push("second");
    expect(await redis.events()).toEqual(["first", "second"]);
  });
});

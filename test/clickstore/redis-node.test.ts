import { afterEach, describe, expect, test } from "bun:test";
import { PushFailure, RedisNode } from "../../src/clickstore/redis-node";
import { createLogger } from "../../src/logger";
import { Metrics } from "../../src/metrics/metrics";
import { RedisServer } from "../support/redis";

// What the clickstore relies on, measured on ioredis 6 under Bun rather than assumed.
const TIMEOUT_MS = 250;
const logger = createLogger("silent");
const metrics = new Metrics();
const opened: Array<{ close(): Promise<void> }> = [];

function nodeOn(url: string): RedisNode {
  const node = new RedisNode({
    url,
    pushTimeoutMs: TIMEOUT_MS,
    logger,
    metrics: metrics.clickstoreNode(url),
  });
  opened.push(node);
  return node;
}

async function failure(push: Promise<void>): Promise<{ error: PushFailure; ms: number }> {
  const started = performance.now();
  try {
    await push;
  } catch (error) {
    if (!(error instanceof PushFailure)) throw error;
    return { error, ms: performance.now() - started };
  }
  throw new Error("the push went through");
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((node) => node.close()));
});

describe("RedisNode on ioredis 6 under Bun", () => {
  test("a node that is not there fails a push at once, and the push was never sent", async () => {
    const absent = new RedisServer();
    const node = nodeOn(absent.url);
    expect(await node.ready(2_000)).toBe(false);
    const { error, ms } = await failure(node.push("event"));
    expect(error.maybeApplied).toBe(false);
    // At once, not after ioredis's ~73 s default: far below one timeout.
    expect(ms).toBeLessThan(TIMEOUT_MS);
  });

  test("a SIGSTOPped node times the push out, keeps the connection, and applies the push when it resumes", async () => {
    const redis = await RedisServer.start();
    try {
      const node = nodeOn(redis.url);
      expect(await node.ready(2_000)).toBe(true);
      redis.pause();
      const { error } = await failure(node.push("timed out"));
      expect(error.maybeApplied).toBe(true);
      expect(error.message).toContain("timed out");
      expect(node.connection).toBe("ready");
      expect(await node.ping()).toBe(false);
      redis.resume();
      // The duplicate window: the push that failed is in Redis after all.
      expect(await redis.events()).toEqual(["timed out"]);
      await node.push("after");
      expect(await redis.events()).toEqual(["timed out", "after"]);
    } finally {
      redis.resume();
      await redis.stop();
    }
  });

  test("a push in flight when the node dies fails at once as possibly applied; the node is back when Redis is", async () => {
    const redis = await RedisServer.start();
    try {
      const node = nodeOn(redis.url);
      expect(await node.ready(2_000)).toBe(true);
      const inFlight = Array.from({ length: 20 }, (_, n) =>
        failure(node.push(`in flight ${n}`)).catch(() => undefined),
      );
      await redis.stop();
      const failures = (await Promise.all(inFlight)).filter((result) => result !== undefined);
      expect(failures.length).toBeGreaterThan(0);
      for (const { error } of failures) expect(error.maybeApplied).toBe(true);
      const { error } = await failure(node.push("while down"));
      expect(error.maybeApplied).toBe(false);

      await redis.start();
      expect(await node.ready(5_000)).toBe(true);
      await node.push("back");
      // Not resent after the reconnect (maxRetriesPerRequest 0): only what was pushed since.
      expect(await redis.events()).toEqual(["back"]);
    } finally {
      await redis.stop();
    }
  });

  test("a batch is one RPUSH: Redis takes all of it", async () => {
    const redis = await RedisServer.start();
    try {
      const node = nodeOn(redis.url);
      await node.ready(2_000);
      await node.push(["a", "b", "c"]);
      expect(await redis.events()).toEqual(["a", "b", "c"]);
    } finally {
      await redis.stop();
    }
  });
});

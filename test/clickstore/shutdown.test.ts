import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { databaseWithLink, LINK_ID, logLines, serviceOn, tally } from "../support/faults";
import { startLoad } from "../support/load";
import { waitFor } from "../support/ports";
import { RedisServer } from "../support/redis";
import { tempDir } from "../support/service";
import { spooledEvents } from "../support/spool";

describe("graceful shutdown", () => {
  const cases = [
    { signal: "SIGTERM", stalled: 1, where: "the other node" },
    { signal: "SIGINT", stalled: 2, where: "the spool" },
  ] as const;
  for (const { signal, stalled: stalledCount, where } of cases) {
    test(`(e) ${signal} during load, ${stalledCount} node(s) stalled: clicks in flight finish in ${where}; every 307 is in Redis or the spool`, async () => {
      const databaseUrl = await databaseWithLink();
      const nodes = [await RedisServer.start(), await RedisServer.start()];
      const stalled = nodes.slice(0, stalledCount);
      const spoolDir = join(tempDir(), "spool");
      const service = await serviceOn(databaseUrl, nodes, spoolDir);
      try {
        const load = startLoad({
          base: service.url,
          linkId: LINK_ID,
          count: 400,
          concurrency: 8,
          pauseMs: 2,
        });
        await waitFor("a third of the clicks", () => load.completed() >= 130 || undefined, 20_000, 5);
        // Clicks on the stalled node wait for their push timeout: they are in flight when the signal comes.
        for (const node of stalled) node.pause();
        await Bun.sleep(50);
        const signalledAt = performance.now();
        const code = await service.kill(signal);
        const exitedAt = performance.now();
        load.stop();
        const results = await load.done;
        for (const node of stalled) node.resume();

        expect(code).toBe(0);
        const messages = logLines(service.output()).map((line) => line.msg);
        expect(messages).toContain("shutting down");
        expect(messages.at(-1)).toBe("stopped");
        // Requests in flight at the signal were finished, not cut.
        const answeredAfterSignal = results.filter((r) => r.status === 307 && r.finishedAt > signalledAt);
        expect(answeredAfterSignal.length).toBeGreaterThan(0);
        // After the signal, no new click is taken (refused, not answered).
        expect(results.filter((r) => r.startedAt > exitedAt && r.status !== 0)).toEqual([]);

        const events = (await Promise.all(nodes.map((node) => node.events()))).flat();
        const result = tally(results, events, spooledEvents(spoolDir), service.output());
        expect(result.redirected).toBeGreaterThanOrEqual(130);
        if (stalledCount === nodes.length) expect(result.inSpool).toBeGreaterThan(0);
        expect(result.lost).toEqual([]);
        expect(result.unexplainedDuplicates).toEqual([]);
      } finally {
        for (const node of stalled) node.resume();
        if (service.process.exitCode === null) await service.kill("SIGKILL");
        await Promise.all(nodes.map((node) => node.stop()));
      }
    }, 30_000);
  }

  test("a shutdown that cannot finish within SHUTDOWN_GRACE_MS exits anyway, without 307s for the clicks it cut", async () => {
    const databaseUrl = await databaseWithLink();
    const node = await RedisServer.start();
    const spoolDir = join(tempDir(), "spool");
    // Pushes that take longer than the whole grace: the clicks waiting on them cannot finish in time.
    const service = await serviceOn(databaseUrl, [node], spoolDir, {
      REDIS_PUSH_TIMEOUT_MS: "20000",
      SHUTDOWN_GRACE_MS: "1000",
    });
    try {
      node.pause();
      const load = startLoad({ base: service.url, linkId: LINK_ID, count: 4, concurrency: 4 });
      await Bun.sleep(200);
      const signalledAt = performance.now();
      const code = await service.kill("SIGTERM");
      const tookMs = performance.now() - signalledAt;
      const results = await load.done;

      expect(code).toBe(1);
      expect(tookMs).toBeLessThan(10_000);
      const messages = logLines(service.output()).map((line) => line.msg);
      expect(messages).toContain("requests still running at the shutdown grace limit: cutting them");
      expect(messages).toContain("shutdown took longer than its grace: exiting anyway");
      expect(results.map((result) => result.status)).toEqual([0, 0, 0, 0]);
    } finally {
      node.resume();
      if (service.process.exitCode === null) await service.kill("SIGKILL");
      await node.stop();
    }
  }, 30_000);
});

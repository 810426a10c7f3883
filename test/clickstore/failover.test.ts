import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  databaseWithLink,
  eventSeq,
  health,
  killOneNode,
  LINK_ID,
  PUSH_TIMEOUT_MS,
  serviceOn,
  tally,
  waitForDrainedSpool,
} from "../support/faults";
import { percentile, startLoad } from "../support/load";
import { RedisServer } from "../support/redis";
import { tempDir } from "../support/service";
import { spooledEvents } from "../support/spool";

// Loose on purpose: the machine is shared. What matters is that no click waits on a dead node for
// more than a push timeout per node, never ioredis's ~73 s.
const LATENCY_BOUND_MS = 2 * PUSH_TIMEOUT_MS + 2_000;

describe("round robin with circuit breakers", () => {
  test("(a) one of two nodes is killed under load: no click lost, later clicks all on the other", async () => {
    const report = await killOneNode({ count: 300, concurrency: 6, pauseMs: 5 });
    const { tally: result } = report;
    expect(result.redirected).toBe(300);
    expect(result.lost).toEqual([]);
    expect(result.recomposed).toEqual([]);
    expect(result.unexplainedDuplicates).toEqual([]);
    expect(report.laterNotOnSurvivor).toEqual([]);
    expect(result.inSpool).toBe(0);
    expect(result.p99Ms).toBeLessThan(LATENCY_BOUND_MS);
  }, 30_000);

  test("(c) a node that accepts connections but never answers: pushes time out, clicks go to the next node or the spool", async () => {
    const databaseUrl = await databaseWithLink();
    const nodes = [await RedisServer.start(), await RedisServer.start()];
    const [first, second] = nodes as [RedisServer, RedisServer];
    const spoolDir = join(tempDir(), "spool");
    // Short probes, so that the resumed nodes are found again within the test.
    const service = await serviceOn(databaseUrl, nodes, spoolDir, {
      REDIS_BREAKER_PROBE_MS: "200",
      REDIS_BREAKER_PROBE_MAX_MS: "1000",
    });
    try {
      first.pause();
      const oneStopped = await startLoad({ base: service.url, linkId: LINK_ID, count: 100, concurrency: 4 })
        .done;
      expect(oneStopped.every((result) => result.status === 307)).toBe(true);
      expect(percentile(oneStopped, 0.99)).toBeLessThan(LATENCY_BOUND_MS);
      // The spool first: the drainer may move an event from it to the second node in between.
      const spooled = spooledEvents(spoolDir);
      const keptSeqs = new Set([...spooled, ...(await second.events())].map(eventSeq));
      expect(oneStopped.filter((result) => !keptSeqs.has(result.seq))).toEqual([]);
      const afterOne = (await health(service.url)).body;
      // Open, or probing with a PING that will time out too.
      expect(afterOne.nodes[0]?.breaker).not.toBe("closed");
      expect(afterOne.nodes[1]?.breaker).toBe("closed");
      expect(afterOne.nodes[0]?.connection).toBe("ready");

      second.pause();
      const bothStopped = await startLoad({
        base: service.url,
        linkId: LINK_ID,
        count: 100,
        concurrency: 4,
        firstSeq: 100,
      }).done;
      expect(bothStopped.every((result) => result.status === 307)).toBe(true);
      expect(percentile(bothStopped, 0.99)).toBeLessThan(LATENCY_BOUND_MS);

      first.resume();
      second.resume();
      await waitForDrainedSpool(service.url);
      const events = [...(await first.events()), ...(await second.events())];
      const result = tally(
        [...oneStopped, ...bothStopped],
        events,
        spooledEvents(spoolDir),
        service.output(),
      );
      expect(result.lost).toEqual([]);
      expect(result.recomposed).toEqual([]);
      // Timed-out pushes land when the node resumes: every duplicate is one the log announced.
      expect(result.unexplainedDuplicates).toEqual([]);
      expect((await health(service.url)).body.retriedAfterTimeout).toBeGreaterThan(0);
    } finally {
      first.resume();
      second.resume();
      await service.kill("SIGTERM");
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 30_000);
});

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  databaseWithLink,
  eventClickId,
  eventSeq,
  health,
  LINK_ID,
  logLines,
  serviceOn,
  waitForDrainedSpool,
} from "../support/faults";
import { startLoad } from "../support/load";
import { Scrape } from "../support/metrics";
import { RedisServer } from "../support/redis";
import { click, tempDir } from "../support/service";
import { spooledEvents } from "../support/spool";

const SPOOL_MAX_BYTES = 16 * 1024;
const METRICS_TOKEN = "spool-full-metrics-token";

function scrapeOf(base: string): Promise<Scrape> {
  return fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }).then(Scrape.of);
}
const CLICKS = 60;

describe("a full spool", () => {
  test("(f) redirects continue; the dropped count is exact and each loss is logged with its event", async () => {
    const databaseUrl = await databaseWithLink();
    const node = await RedisServer.start();
    const spoolDir = join(tempDir(), "spool");
    const service = await serviceOn(databaseUrl, [node], spoolDir, {
      SPOOL_MAX_BYTES: String(SPOOL_MAX_BYTES),
      METRICS_TOKEN,
      REDIS_BREAKER_PROBE_MS: "100",
      REDIS_BREAKER_PROBE_MAX_MS: "200",
    });
    try {
      await node.stop();
      const results = await startLoad({ base: service.url, linkId: LINK_ID, count: CLICKS, concurrency: 3 })
        .done;
      expect(results.map((result) => result.status)).toEqual(Array(CLICKS).fill(307));

      const spooled = spooledEvents(spoolDir);
      const lossLines = logLines(service.output()).filter(
        (line) => line.level === "error" && typeof line.event === "string",
      );
      const droppedEvents = lossLines.map((line) => line.event as string);
      expect(spooled.length).toBeGreaterThan(0);
      expect(droppedEvents.length).toBe(CLICKS - spooled.length);
      // Every click is either spooled or named in a loss line, never both, never neither.
      const spooledSeqs = spooled.map(eventSeq);
      const droppedSeqs = droppedEvents.map(eventSeq);
      expect([...spooledSeqs, ...droppedSeqs].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
        Array.from({ length: CLICKS }, (_, seq) => seq),
      );
      expect(lossLines.map((line) => line.clickId)).toEqual(droppedEvents.map(eventClickId));
      expect(lossLines.map((line) => line.dropped)).toEqual(droppedEvents.map((_, index) => index + 1));

      // Neither the node nor the spool can take a click: the only case /check answers 503.
      const full = await health(service.url);
      expect(full.status).toBe(503);
      expect(full.body.acceptsClicks).toBe(false);
      expect(full.body.dropped).toBe(droppedEvents.length);
      expect(full.body.spool?.acceptsClicks).toBe(false);
      expect(full.body.spool?.bytes).toBeLessThanOrEqual(SPOOL_MAX_BYTES);
      const plain = await click(service.url, "/check");
      expect(plain.status).toBe(503);
      expect(await plain.text()).toBe("Database unreachable");
      // What the alerts on lost clicks and on /check failing read.
      const lost = await scrapeOf(service.url);
      expect(lost.value("clicks_dropped_total")).toBe(droppedEvents.length);
      expect(lost.value("clicks_ready")).toBe(0);

      await node.start();
      await waitForDrainedSpool(service.url);
      const stored = await node.events();
      expect(stored.map(eventSeq)).toEqual(spooledSeqs);
      const drained = await health(service.url);
      expect(drained.status).toBe(200);
      expect(drained.body.spool?.acceptsClicks).toBe(true);
      expect((await scrapeOf(service.url)).value("clicks_ready")).toBe(1);
    } finally {
      await service.kill("SIGTERM");
      await node.stop();
    }
  }, 30_000);
});

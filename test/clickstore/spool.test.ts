import { describe, expect, test } from "bun:test";
import { appendFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Spool } from "../../src/clickstore/spool";
import { createLogger } from "../../src/logger";
import { LogLines, tempDir } from "../support/service";
import { spooledEvents } from "../support/spool";

const event = (n: number, padding = 0) =>
  `127.0.0.1 1700000000 clicks /t/click click_id=${String(n).padStart(8, "0")}${"x".repeat(padding)} UA`;

async function openSpool(dir: string, maxBytes = 1024 * 1024) {
  const log = new LogLines();
  const spool = await Spool.open({ dir, maxBytes, logger: createLogger("info", { destination: log }) });
  return { spool, log };
}

async function drainAll(spool: Spool, batchEvents = 7): Promise<string[]> {
  const drained: string[] = [];
  for (let batch = await spool.peek(batchEvents); batch; batch = await spool.peek(batchEvents)) {
    drained.push(...batch.events);
    await spool.acknowledge(batch);
  }
  return drained;
}

const segmentFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".spool"));

describe("Spool", () => {
  test("gives events back oldest first, one per line on disk, and forgets them once acknowledged", async () => {
    const dir = tempDir();
    const { spool } = await openSpool(dir);
    const events = Array.from({ length: 20 }, (_, n) => event(n));
    expect(await Promise.all(events.map((e) => spool.append(e)))).toEqual(Array(20).fill(true));
    expect(spool.pendingEvents).toBe(20);
    expect(spooledEvents(dir)).toEqual(events);

    expect(await drainAll(spool)).toEqual(events);
    expect(spool.pendingEvents).toBe(0);
    expect(spooledEvents(dir)).toEqual([]);
    expect(segmentFiles(dir)).toEqual([]);
    expect(spool.bytes).toBe(0);
    await spool.close();
  });

  test("concurrent appends share a write and an fsync", async () => {
    const { spool } = await openSpool(tempDir());
    await Promise.all(Array.from({ length: 100 }, (_, n) => spool.append(event(n))));
    expect(spool.pendingEvents).toBe(100);
    // The first append starts a commit; the 99 that arrive meanwhile share the next one.
    expect(spool.commits).toBe(2);
    await spool.close();
  });

  test("survives a restart: the next process gets what was not acknowledged, in order", async () => {
    const dir = tempDir();
    const first = await openSpool(dir);
    const events = Array.from({ length: 30 }, (_, n) => event(n));
    for (const e of events) await first.spool.append(e);
    const batch = await first.spool.peek(10);
    if (!batch) throw new Error("expected a batch");
    await first.spool.acknowledge(batch);
    const unacknowledged = await first.spool.peek(5);
    expect(unacknowledged?.events).toEqual(events.slice(10, 15));
    await first.spool.close();

    const second = await openSpool(dir);
    expect(second.spool.pendingEvents).toBe(20);
    expect(
      second.log
        .entries()
        .some((line) => line.msg === "the spool holds events from before: draining them to Redis"),
    ).toBe(true);
    await second.spool.append(event(30));
    expect(await drainAll(second.spool)).toEqual([...events.slice(10), event(30)]);
    await second.spool.close();
  });

  test("a restart after a crash mid-write drops the incomplete last line, which no click was redirected for", async () => {
    const dir = tempDir();
    const first = await openSpool(dir);
    for (let n = 0; n < 3; n++) await first.spool.append(event(n));
    await first.spool.close();
    const [segment] = segmentFiles(dir);
    appendFileSync(join(dir, segment as string), "127.0.0.1 1700000000 clicks /t/cl");

    const second = await openSpool(dir);
    expect(second.spool.pendingEvents).toBe(3);
    await second.spool.append(event(3));
    expect(await drainAll(second.spool)).toEqual([0, 1, 2, 3].map((n) => event(n)));
    expect(
      second.log
        .entries()
        .some((line) => line.msg === "discarding the incomplete last line of a spool segment"),
    ).toBe(true);
    await second.spool.close();
  });

  test("is bounded: an append that does not fit is refused, and room comes back as it drains", async () => {
    const dir = tempDir();
    const maxBytes = 16 * 1024;
    const { spool } = await openSpool(dir, maxBytes);
    const size = Buffer.byteLength(event(0, 400)) + 1;
    const results: boolean[] = [];
    for (let n = 0; n < 60; n++) results.push(await spool.append(event(n, 400)));
    const fitting = Math.floor(maxBytes / size);
    expect(results.filter(Boolean).length).toBe(fitting);
    expect(results.slice(0, fitting).every(Boolean)).toBe(true);
    expect(spool.bytes).toBe(fitting * size);
    expect(spool.bytes).toBeLessThanOrEqual(maxBytes);
    expect(spool.acceptsClicks).toBe(false);
    // Several segments: the drained ones are deleted, so the room comes back.
    expect(segmentFiles(dir).length).toBeGreaterThan(1);

    expect((await drainAll(spool)).length).toBe(fitting);
    expect(spool.bytes).toBe(0);
    expect(spool.acceptsClicks).toBe(true);
    expect(await spool.append(event(99, 400))).toBe(true);
    await spool.close();
  });

  test("concurrent appends never overshoot the bound", async () => {
    const maxBytes = 16 * 1024;
    const { spool } = await openSpool(tempDir(), maxBytes);
    const size = Buffer.byteLength(event(0, 400)) + 1;
    const results = await Promise.all(Array.from({ length: 60 }, (_, n) => spool.append(event(n, 400))));
    expect(results.filter(Boolean).length).toBe(Math.floor(maxBytes / size));
    expect(spool.bytes).toBeLessThanOrEqual(maxBytes);
    await spool.close();
  });

  test("a checkpoint past a segment means the process died before deleting it: the next start does", async () => {
    const dir = tempDir();
    const first = await openSpool(dir, 16 * 1024);
    const events = Array.from({ length: 30 }, (_, n) => event(n, 400));
    for (const e of events) await first.spool.append(e);
    await first.spool.close();
    const segments = segmentFiles(dir).sort();
    expect(segments.length).toBeGreaterThan(2);
    writeFileSync(join(dir, "checkpoint"), `${Number(segments[2]?.slice(0, 12))} 0\n`);

    const second = await openSpool(dir, 16 * 1024);
    expect(segmentFiles(dir).sort()).toEqual(segments.slice(2));
    const remaining = await drainAll(second.spool);
    expect(remaining.length).toBeGreaterThan(0);
    expect(remaining.length).toBeLessThan(events.length);
    expect(remaining).toEqual(events.slice(events.length - remaining.length));
    await second.spool.close();
  });

  test("a checkpoint that does not point at an event start is not trusted: the segment is read from its start", async () => {
    const dir = tempDir();
    const first = await openSpool(dir);
    for (let n = 0; n < 5; n++) await first.spool.append(event(n));
    await first.spool.close();
    const [segment] = segmentFiles(dir);
    writeFileSync(join(dir, "checkpoint"), `${Number(segment?.slice(0, 12))} 7\n`);

    const second = await openSpool(dir);
    expect(await drainAll(second.spool)).toEqual([0, 1, 2, 3, 4].map((n) => event(n)));
    expect(second.log.entries().some((line) => line.level === "error")).toBe(true);
    await second.spool.close();
  });

  test("refuses an event with a line break, which would split it in two", async () => {
    const { spool } = await openSpool(tempDir());
    expect(() => spool.append("a\nb")).toThrow("line break");
    await spool.close();
  });
});

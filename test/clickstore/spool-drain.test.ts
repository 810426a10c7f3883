import { describe, expect, test } from "bun:test";
import { killAllNodes, killService } from "../support/faults";

describe("the spool keeps what Redis cannot take, and drains into it", () => {
  test("(b) every node killed mid-load: 307s go to the spool, which drains once Redis is back", async () => {
    const report = await killAllNodes({ count: 300, concurrency: 6, pauseMs: 5 });
    const { tally: result } = report;
    expect(result.redirected).toBe(300);
    expect(report.redirectedWhileDown).toBeGreaterThan(0);
    expect(report.missingFromSpoolWhileDown).toEqual([]);
    expect(result.inSpool).toBe(0);
    expect(result.lost).toEqual([]);
    expect(result.recomposed).toEqual([]);
    // A push in flight when Redis died may have been applied: those, and only those, may be twice.
    expect(result.unexplainedDuplicates).toEqual([]);
  }, 30_000);

  test("(d) the service SIGKILLed with a non-empty spool: the next start drains it, nothing lost", async () => {
    const report = await killService({ count: 300, concurrency: 6, pauseMs: 5 });
    const { tally: result } = report;
    expect(result.redirected).toBeGreaterThanOrEqual(150);
    expect(report.spooledAtKill).toBeGreaterThanOrEqual(result.redirected);
    expect(report.missingFromSpoolAtKill).toEqual([]);
    expect(result.inSpool).toBe(0);
    expect(result.inRedis).toBeGreaterThanOrEqual(result.redirected);
    expect(result.lost).toEqual([]);
    expect(result.duplicates).toBe(0);
  }, 30_000);
});

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { databaseWithLink, killAllNodes, killService, serviceOn } from "../support/faults";
import { freePort } from "../support/ports";
import { RedisServer } from "../support/redis";
import { runCommand, tempDir } from "../support/service";

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

  test("(d) the same, the killed service left a zombie by a parent that does not reap it: the next start takes the spool and drains it", async () => {
    const report = await killService({ count: 300, concurrency: 6, pauseMs: 5 }, { zombie: true });
    const { tally: result } = report;
    // kill(pid, 0) still succeeds for a zombie: only a lock the kernel dropped lets the next start in.
    expect(report.zombieAtRestart).toBe(true);
    expect(result.redirected).toBeGreaterThanOrEqual(150);
    expect(report.spooledAtKill).toBeGreaterThanOrEqual(result.redirected);
    expect(report.missingFromSpoolAtKill).toEqual([]);
    expect(result.inSpool).toBe(0);
    expect(result.inRedis).toBe(report.spooledAtKill);
    expect(result.lost).toEqual([]);
    expect(result.duplicates).toBe(0);
  }, 30_000);

  test("a second live service on the same spool is refused, naming the process that holds it", async () => {
    const databaseUrl = await databaseWithLink();
    const node = await RedisServer.start();
    const spoolDir = join(tempDir(), "spool");
    const first = await serviceOn(databaseUrl, [node], spoolDir);
    try {
      const second = await runCommand(["bun", "src/main.ts"], {
        DATABASE_URL: databaseUrl,
        SPOOL_DIR: spoolDir,
        REDIS_URL_CLICKSTORE_1: node.url,
        HOST: "127.0.0.1",
        PORT: String(freePort()),
        DATA_DIR: tempDir(),
      });
      expect(second.code).toBe(1);
      expect(second.stdout + second.stderr).toContain(
        `the spool in ${spoolDir} is in use by process ${first.process.pid}: give each process its own SPOOL_DIR`,
      );
      expect(first.process.exitCode).toBeNull();
    } finally {
      await first.kill("SIGTERM");
      await node.stop();
    }
  }, 30_000);
});

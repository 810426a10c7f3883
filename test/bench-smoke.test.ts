import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { RunResult, Summary } from "../bench/report";
import { runCommand, tempDir } from "./support/service";

// CI runs no benchmark; this runs the benchmark's scripts with tiny durations so that they cannot rot.
// No timing is asserted: only that they run end to end and that no click was lost.
const ROOT = join(import.meta.dir, "..");

/** The benchmark, writing its results into a temporary folder: a test run leaves nothing in bench/results/. */
function run(args: string[], resultsDir = tempDir("clicks-bench-results-")) {
  return runCommand(["bun", join(ROOT, "bench", "run.ts"), ...args], { BENCH_RESULTS_DIR: resultsDir });
}

interface Results {
  https: string;
  summary: Summary;
  runs: RunResult[];
}

describe("bun run bench", () => {
  test("loads the baseline and the service (1 and 2 workers) in every shape and accounts for every click", async () => {
    const out = join(tempDir("clicks-bench-smoke-"), "results.json");
    const { code, stdout, stderr } = await run([
      "--duration",
      "1",
      "--warmup",
      "0",
      "--reps",
      "1",
      "--workers",
      "1,2",
      "--out",
      out,
    ]);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const last = stdout.trim().split("\n").at(-1);
    expect(last).toMatch(/^ratio=\d+\.\d\d p99_ms=\d+\.\d rss_mb=\d+ lost=0$/);

    const results = JSON.parse(readFileSync(out, "utf8")) as Results;
    expect(["measured", "skipped: no HTTPS listener yet"]).toContain(results.https);
    const shapes = results.https === "measured" ? 3 : 2;
    expect(results.runs).toHaveLength(shapes * 3);
    for (const run of results.runs.filter((each) => each.kind === "service")) {
      expect(run.wrk.main_307).toBeGreaterThan(0);
      // Every 307 has its event, and no event lacks its 307; a click stored twice is only one that
      // the service retried after a push that may have reached Redis (at-least-once, logged as such).
      expect(run.events?.distinctMain).toBe(run.wrk.main_307);
      expect(run.events?.duplicates ?? 0).toBeLessThanOrEqual(run.retriedAfterTimeout);
      expect(run.wrk.other).toBe(0);
    }
    expect(
      results.summary.rows
        .filter((row) => row.kind === "service")
        .map((row) => row.workers)
        .sort(),
    ).toEqual(
      Array.from({ length: shapes }, () => [1, 2])
        .flat()
        .sort(),
    );
  }, 240_000);

  test("--micro measures UA detection and event composition per call, into BENCH_RESULTS_DIR", async () => {
    const resultsDir = tempDir("clicks-bench-results-");
    const { code, stdout, stderr } = await run(["--micro"], resultsDir);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    for (const name of [
      "detectPlatform, no cache",
      "cached detector, warm",
      "eventQuery + eventLine",
      "with the UA cache",
    ]) {
      expect(stdout).toContain(name);
    }
    const file = /results: (\S+)/.exec(stdout)?.[1];
    expect(file).toBeDefined();
    expect(dirname(file as string)).toBe(resultsDir);
    const perCall = (
      JSON.parse(readFileSync(file as string, "utf8")) as { perCall: Array<{ avgNs: number }> }
    ).perCall;
    expect(perCall.length).toBeGreaterThanOrEqual(6);
    for (const each of perCall) expect(each.avgNs).toBeGreaterThan(0);
  }, 120_000);
});

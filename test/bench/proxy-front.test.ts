import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/service";

// The benchmark is not run by CI; this runs it tiny, so that it cannot rot unnoticed.
test("bench/proxy-front.ts runs and measures both paths without errors", async () => {
  const script = join(import.meta.dir, "..", "..", "bench", "proxy-front.ts");
  const resultsDir = tempDir("clicks-bench-results-");
  const child = Bun.spawn(["bun", script, "--seconds", "0.3", "--rounds", "1", "--connections", "2"], {
    env: { ...process.env, BENCH_RESULTS_DIR: resultsDir },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, output] = await Promise.all([child.exited, new Response(child.stdout).text()]);
  expect(code).toBe(0);
  expect(output).toMatch(/^front_cpu_cost_new_connection=-?[\d.]+% front_cpu_cost_keep_alive=-?[\d.]+%$/m);
  // Table rows only: the results path printed after the table may contain "direct" too (…/redirect/…).
  const rows = output.split("\n").filter((line) => /^│.*(direct|through the front)/.test(line));
  expect(rows).toHaveLength(4);
  // The errors column: every click answered with a 307.
  for (const row of rows) expect(row.split("│")[4]?.trim()).toBe("0");
  // Its JSON went to the folder it was given, not into bench/results/.
  expect(readdirSync(resultsDir)).toEqual([expect.stringMatching(/^proxy-front-.*\.json$/)]);
}, 90_000);

import { formatTally, killAllNodes, killOneNode, killService, type Tally } from "../test/support/faults";

/**
 * `bun run bench:faults`: the fault scenarios (a), (b) and (d) of issue 3 at a higher rate than the
 * tests, against real redis-server processes and the service as a child process, on loopback.
 * Exits non-zero when a click that got a 307 is lost or a duplicate is not explained by the log.
 *
 *   CLICKS=5000 CONCURRENCY=48 bun run bench:faults   (the defaults)
 */
const clicks = Number(process.env.CLICKS ?? 5000);
const concurrency = Number(process.env.CONCURRENCY ?? 48);
const shape = { count: clicks, concurrency };

const scenarios: Array<[string, () => Promise<{ tally: Tally; notes: string[] }>]> = [
  [
    "(a) two nodes, one SIGKILLed a third of the way in",
    async () => {
      const report = await killOneNode(shape);
      return {
        tally: report.tally,
        notes: [`later clicks not on the surviving node: ${report.laterNotOnSurvivor.length}`],
      };
    },
  ],
  [
    "(b) every node SIGKILLed a third of the way in, started again at two thirds",
    async () => {
      const report = await killAllNodes(shape);
      return {
        tally: report.tally,
        notes: [
          `307s while every node was down: ${report.redirectedWhileDown}`,
          `of those, not in the spool then: ${report.missingFromSpoolWhileDown.length}`,
        ],
      };
    },
  ],
  [
    "(d) Redis down, service SIGKILLed half-way with a non-empty spool, restarted with Redis up",
    async () => {
      const report = await killService(shape);
      return {
        tally: report.tally,
        notes: [
          `events in the spool at the kill: ${report.spooledAtKill}`,
          `307s not in the spool at the kill: ${report.missingFromSpoolAtKill.length}`,
          `events kept for clicks the kill left unanswered: ${report.keptWithoutAnswer}`,
        ],
      };
    },
  ],
];

console.log(`bench:faults — ${clicks} clicks per scenario, ${concurrency} in flight, loopback\n`);
let failed = false;
for (const [name, run] of scenarios) {
  const started = performance.now();
  const { tally, notes } = await run();
  const seconds = (performance.now() - started) / 1000;
  console.log(formatTally(name, tally));
  for (const note of notes) console.log(`  ${note}`);
  console.log(`  scenario time        ${seconds.toFixed(1)} s\n`);
  if (tally.lost.length > 0 || tally.unexplainedDuplicates.length > 0 || tally.recomposed.length > 0)
    failed = true;
}
console.log(failed ? "FAILED: a click was lost or duplicated without explanation" : "no click lost");
process.exit(failed ? 1 : 0);

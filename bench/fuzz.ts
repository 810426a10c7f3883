/**
 * The long hostile-input run: FUZZ_RUNS generated cases (default 10,000) from FUZZ_SEED (default 1)
 * against the service as its own process, with real PostgreSQL and redis-server on loopback: four
 * in five are clicks, one in five a signed link API request (create or delete) with NULs, lone
 * surrogates and odd lengths in its fields. The same seed gives the same requests. Exits non-zero
 * on any 5xx of ours, malformed event, link not kept as sent, lost answer or crash.
 *
 *   bun run fuzz                       FUZZ_SEED=42 FUZZ_RUNS=50000 bun run fuzz
 */
import fc from "fast-check";
import { openPostgres } from "../src/db/database";
import { createLinkRepository } from "../src/links/repository";
import { hostileClick, runHostileClick, startClickBackends } from "../test/support/hostile";
import { hostileLink, runHostileLink } from "../test/support/hostile-links";
import { spawnService } from "../test/support/service";

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name}=${raw}: must be a whole number`);
  return value;
}

const seed = positiveInteger("FUZZ_SEED", 1);
const runs = positiveInteger("FUZZ_RUNS", 10_000);

const API_SECRET = "fuzz-api-secret";

const backends = await startClickBackends();
const service = await spawnService({
  DATABASE_URL: backends.databaseUrl,
  REDIS_URL_CLICKSTORE_1: backends.redis.url,
  API_SECRET_KEY: API_SECRET,
  // spawnService waits for the start line, which is logged at info.
  LOG_LEVEL: "info",
});
const port = Number(new URL(service.url).port);
const database = openPostgres(backends.databaseUrl);
const repository = createLinkRepository(database.db);

const statuses = new Map<string, number>();
let events = 0;
let serviceErrors = 0;
let bunParser505 = 0;
let malformedEvents = 0;
let unanswered = 0;
let linkProblems = 0;
let crashed = false;
const failures: string[] = [];
const started = performance.now();

const linkStatuses = new Map<string, number>();
const count = (tally: Map<string, number>, status: number | undefined) => {
  const key = status === undefined ? "none" : String(status);
  tally.set(key, (tally.get(key) ?? 0) + 1);
};
const cases = fc.sample(
  fc.oneof(
    { weight: 4, arbitrary: hostileClick.map((click) => ({ kind: "click" as const, click })) },
    { weight: 1, arbitrary: hostileLink.map((link) => ({ kind: "link" as const, link })) },
  ),
  { seed, numRuns: runs },
);
for (const [index, testCase] of cases.entries()) {
  const { description } = testCase.kind === "click" ? testCase.click : testCase.link;
  let outcome: { status: number | undefined; problems: string[] };
  if (testCase.kind === "click") {
    const clicked = await runHostileClick(port, backends.redis, testCase.click);
    events += clicked.events.length;
    // Bun's parser answers 505 to a request line with a control byte or space in it, before the service.
    if (clicked.status === 505 && testCase.click.malformed === "request line") bunParser505 += 1;
    else if (clicked.status !== undefined && clicked.status >= 500) serviceErrors += 1;
    outcome = clicked;
  } else {
    outcome = await runHostileLink(service.url, API_SECRET, repository, backends.redis, testCase.link);
    count(linkStatuses, outcome.status);
    if (outcome.status !== undefined && outcome.status >= 500) serviceErrors += 1;
    if (outcome.problems.length > 0) linkProblems += 1;
  }
  count(statuses, outcome.status);
  if (outcome.status === undefined) unanswered += 1;
  malformedEvents += outcome.problems.filter((problem) => /^(click )?event/.test(problem)).length;
  if (outcome.problems.length > 0 && failures.length < 20) {
    failures.push(`#${index}: ${outcome.problems.join("; ")}\n    ${description}`);
  }
  if (service.process.exitCode !== null) {
    crashed = true;
    failures.push(`#${index}: the service exited with ${service.process.exitCode}\n    ${description}`);
    break;
  }
}
const seconds = (performance.now() - started) / 1000;

const check = crashed ? undefined : await fetch(`${service.url}/check`).catch(() => undefined);
const alive = check?.status === 200;
if (!crashed) await service.kill("SIGTERM");
await database.close();
await backends.stop();

const byStatus = (tally: Map<string, number>) =>
  [...tally.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status}: ${n}`)
    .join(", ");
const linkCases = [...linkStatuses.values()].reduce((sum, n) => sum + n, 0);
console.log(`fuzz seed ${seed}: ${cases.length} cases in ${seconds.toFixed(1)} s`);
console.log(`  answers by status   ${byStatus(statuses)}`);
console.log(`  link API cases      ${linkCases} (${byStatus(linkStatuses)})`);
console.log(`  links not as sent   ${linkProblems}`);
console.log(`  events written      ${events}`);
console.log(`  5xx from service    ${serviceErrors}`);
console.log(`  505 from Bun parser ${bunParser505} (request lines with control bytes or spaces; no event)`);
console.log(`  malformed events    ${malformedEvents}`);
console.log(`  unanswered          ${unanswered}`);
console.log(`  crashes             ${crashed ? 1 : 0}${alive ? " (GET /check answers 200 afterwards)" : ""}`);
for (const failure of failures) console.log(`  FAIL ${failure}`);
process.exit(failures.length === 0 && alive ? 0 : 1);

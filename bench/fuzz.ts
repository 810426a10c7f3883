/**
 * The long hostile-input run: FUZZ_RUNS generated clicks (default 10,000) from FUZZ_SEED (default 1)
 * against the service as its own process, with real PostgreSQL and redis-server on loopback.
 * The same seed gives the same requests. Exits non-zero on any 5xx of ours, malformed event,
 * lost answer or crash.
 *
 *   bun run fuzz                       FUZZ_SEED=42 FUZZ_RUNS=50000 bun run fuzz
 */
import fc from "fast-check";
import { hostileClick, runHostileClick, startClickBackends } from "../test/support/hostile";
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

const backends = await startClickBackends();
const service = await spawnService({
  DATABASE_URL: backends.databaseUrl,
  REDIS_URL_CLICKSTORE_1: backends.redis.url,
  // spawnService waits for the start line, which is logged at info.
  LOG_LEVEL: "info",
});
const port = Number(new URL(service.url).port);

const statuses = new Map<string, number>();
let events = 0;
let serviceErrors = 0;
let bunParser505 = 0;
let malformedEvents = 0;
let unanswered = 0;
let crashed = false;
const failures: string[] = [];
const started = performance.now();

const clicks = fc.sample(hostileClick, { seed, numRuns: runs });
for (const [index, click] of clicks.entries()) {
  const outcome = await runHostileClick(port, backends.redis, click);
  const status = outcome.status === undefined ? "none" : String(outcome.status);
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  events += outcome.events.length;
  if (outcome.status === undefined) unanswered += 1;
  // Bun's parser answers 505 to a request line with a control byte or space in it, before the service.
  if (outcome.status === 505 && click.malformed === "request line") bunParser505 += 1;
  else if (outcome.status !== undefined && outcome.status >= 500) serviceErrors += 1;
  malformedEvents += outcome.problems.filter((problem) => problem.startsWith("event")).length;
  if (outcome.problems.length > 0 && failures.length < 20) {
    failures.push(`#${index}: ${outcome.problems.join("; ")}\n    ${click.description}`);
  }
  if (service.process.exitCode !== null) {
    crashed = true;
    failures.push(`#${index}: the service exited with ${service.process.exitCode}\n    ${click.description}`);
    break;
  }
}
const seconds = (performance.now() - started) / 1000;

const check = crashed ? undefined : await fetch(`${service.url}/check`).catch(() => undefined);
const alive = check?.status === 200;
if (!crashed) await service.kill("SIGTERM");
await backends.stop();

const byStatus = [...statuses.entries()]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([status, count]) => `${status}: ${count}`)
  .join(", ");
console.log(`fuzz seed ${seed}: ${clicks.length} cases in ${seconds.toFixed(1)} s`);
console.log(`  answers by status   ${byStatus}`);
console.log(`  events written      ${events}`);
console.log(`  5xx from service    ${serviceErrors}`);
console.log(`  505 from Bun parser ${bunParser505} (request lines with control bytes or spaces; no event)`);
console.log(`  malformed events    ${malformedEvents}`);
console.log(`  unanswered          ${unanswered}`);
console.log(`  crashes             ${crashed ? 1 : 0}${alive ? " (GET /check answers 200 afterwards)" : ""}`);
for (const failure of failures) console.log(`  FAIL ${failure}`);
process.exit(failures.length === 0 && alive ? 0 : 1);

/**
 * `bun run bench`: the click path against the bare-server limit.
 *
 * Starts its own redis-server and PostgreSQL on free loopback ports, seeds the links through the
 * repository, starts the bare baseline (bench/baseline.ts) and the service as child processes in
 * their production configuration, then loads each in turn with wrk and the same settings, shape
 * by shape, alternating baseline and service. Prints a table and one final line; the full results
 * go to bench/results/ as JSON. `--micro` runs the micro-benchmarks instead (bench/micro.ts).
 */
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import type Redis from "ioredis";
import { openPostgres } from "../src/db/database";
import { createLinkRepository } from "../src/links/repository";
import { track } from "../test/support/cleanup";
import { freePort, waitFor } from "../test/support/ports";
import { PostgresServer } from "../test/support/postgres";
import { RedisServer } from "../test/support/redis";
import { migrate, type ServiceProcess, spawnService, tempDir } from "../test/support/service";
import { type CertificateFiles, makeCertificate } from "./cert";
import { clearEvents, countEvents, settle } from "./events";
import { type BenchOptions, readOptions, resultsFile, type Shape, USAGE } from "./options";
import { cpuSecondsOf, findProcess, memoryOf } from "./proc";
import { finalLine, lostOf, type RunResult, summarize, table } from "./report";
import { ensureTools } from "./tools";
import { buildTraffic, TAIL_LOCATION, type Traffic } from "./traffic";
import { luaData, runWrk } from "./wrk";

const ROOT = join(import.meta.dir, "..");

function log(line: string): void {
  console.error(`[bench] ${line}`);
}

/** A server under load: the bare baseline or the service with some number of workers. */
interface Target {
  name: string;
  kind: "baseline" | "service";
  workers: number;
  pid: number;
  httpUrl: string;
  httpsUrl: string | undefined;
  /** What it logged so far (the service's JSON lines). */
  logged(): string;
  stop(): Promise<void>;
}

// The service logs each push retried after a failure that may have reached Redis (issue 3's
// at-least-once window): the duplicates such a retry can make are expected, and explained.
const POSSIBLE_DUPLICATE = '"possibleDuplicate":true';

function possibleDuplicatesIn(log: string): number {
  return log.split(POSSIBLE_DUPLICATE).length - 1;
}

/** The HTTPS listener (issue 6's contract: HTTPS on HTTPS_PORT, plain HTTP on PORT) exists on this tree. */
function serviceHasHttpsListener(): boolean {
  return /\bHTTPS_PORT\b/.test(readFileSync(join(ROOT, "src", "config.ts"), "utf8"));
}

async function startBaseline(tls: CertificateFiles | undefined): Promise<Target> {
  const port = freePort();
  const httpsPort = tls ? freePort() : undefined;
  const child = Bun.spawn(["bun", join(import.meta.dir, "baseline.ts")], {
    env: {
      ...process.env,
      PORT: String(port),
      ...(tls && httpsPort
        ? { HTTPS_PORT: String(httpsPort), TLS_CERT_FILE: tls.certFile, TLS_KEY_FILE: tls.keyFile }
        : {}),
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  track(child);
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  if (!new TextDecoder().decode(value).includes("baseline is listening")) {
    throw new Error("the baseline did not start");
  }
  return {
    name: "baseline",
    kind: "baseline",
    workers: 1,
    pid: child.pid,
    httpUrl: `http://127.0.0.1:${port}`,
    httpsUrl: httpsPort ? `https://127.0.0.1:${httpsPort}` : undefined,
    logged: () => "",
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

interface ServiceSetup {
  databaseUrl: string;
  redisUrl: string;
  tls: CertificateFiles | undefined;
  profileDir: string | undefined;
}

/** The project as it was at `revision`, in a temporary folder, sharing this tree's node_modules. */
function checkoutRevision(revision: string): { dir: string; name: string } {
  const name = Bun.spawnSync(["git", "-C", ROOT, "rev-parse", "--short", revision]).stdout.toString().trim();
  if (!name) throw new Error(`--compare ${revision}: not a git revision`);
  const dir = tempDir("clicks-rev-");
  const extract = Bun.spawnSync(["sh", "-c", `git -C "${ROOT}" archive "${name}" | tar -x -C "${dir}"`], {
    stderr: "pipe",
  });
  if (extract.exitCode !== 0) throw new Error(`--compare ${revision}: ${extract.stderr.toString()}`);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return { dir, name };
}

async function startService(
  workers: number,
  setup: ServiceSetup,
  revision?: { dir: string; name: string },
): Promise<Target> {
  const httpsPort = setup.tls ? freePort() : undefined;
  // The production configuration: Postgres, one Redis clickstore, signed API, info logs.
  const service: ServiceProcess = await spawnService(
    {
      DATABASE_URL: setup.databaseUrl,
      REDIS_URL_CLICKSTORE_1: setup.redisUrl,
      API_SECRET_KEY: "bench-secret",
      ERROR_PAGE_URL: "https://www.example.com/error",
      LOG_LEVEL: "info",
      WORKERS: String(workers),
      ...(setup.profileDir
        ? { BUN_OPTIONS: `--cpu-prof --cpu-prof-md --cpu-prof-dir=${setup.profileDir}` }
        : {}),
      ...(setup.tls && httpsPort
        ? {
            HTTPS_PORT: String(httpsPort),
            TLS_CERT_FILE: setup.tls.certFile,
            TLS_KEY_FILE: setup.tls.keyFile,
          }
        : {}),
    },
    revision?.dir,
  );
  // Each worker says it listens; the first to say so is not all of them.
  await waitFor(
    `${workers} workers listening`,
    () => service.output().split("clicks is listening").length - 1 >= workers || undefined,
    30_000,
  );
  return {
    name: revision ? `service@${revision.name}` : `service w=${workers}`,
    kind: "service",
    workers,
    pid: service.process.pid,
    httpUrl: service.url,
    httpsUrl: httpsPort ? `https://127.0.0.1:${httpsPort}` : undefined,
    logged: () => service.output(),
    async stop() {
      await service.kill("SIGTERM");
    },
  };
}

async function seedLinks(databaseUrl: string, traffic: Traffic): Promise<void> {
  const database = openPostgres(databaseUrl);
  try {
    const repository = createLinkRepository(database.db);
    for (const link of traffic.links) await repository.upsert(link);
  } finally {
    await database.close();
  }
}

function urlFor(target: Target, shape: Shape): string {
  if (shape !== "https") return target.httpUrl;
  if (!target.httpsUrl) throw new Error(`${target.name} has no HTTPS listener`);
  return target.httpsUrl;
}

interface RunContext {
  options: BenchOptions;
  redis: Redis;
  redisPid: number;
  traffic: Traffic;
  dataFile: string;
}

/** One measured run of one target in one shape: warm-up, clean queue, load, count. */
async function measure(context: RunContext, target: Target, shape: Shape, rep: number): Promise<RunResult> {
  const { options, redis, traffic, dataFile } = context;
  const wrkOptions = {
    url: urlFor(target, shape),
    threads: options.threads,
    connections: options.connections,
    close: shape !== "keep-alive",
    dataFile,
  };
  if (options.warmup > 0) await runWrk({ ...wrkOptions, seconds: options.warmup });
  if (target.kind === "service") {
    await settle(redis);
    await clearEvents(redis);
  }
  const retriedBefore = possibleDuplicatesIn(target.logged());
  const cpuBefore = { target: cpuSecondsOf(target.pid), redis: cpuSecondsOf(context.redisPid) };
  const wrk = await runWrk({ ...wrkOptions, seconds: options.duration });
  const perClick = (seconds: number) => (seconds * 1e6) / wrk.requests;
  const cpuUsPerClick = {
    target: perClick(cpuSecondsOf(target.pid) - cpuBefore.target),
    redis: perClick(cpuSecondsOf(context.redisPid) - cpuBefore.redis),
    wrk: perClick(wrk.cpu_s),
  };
  const result: RunResult = {
    shape,
    target: target.name,
    kind: target.kind,
    workers: target.workers,
    rep,
    clicksPerSecond: wrk.requests / (wrk.duration_us / 1e6),
    cpuUsPerClick,
    wrk,
    events: undefined,
    retriedAfterTimeout: 0,
    memory: undefined,
  };
  if (target.kind === "service") {
    await settle(redis);
    result.events = await countEvents(redis, traffic.tailLinkId);
    result.retriedAfterTimeout = possibleDuplicatesIn(target.logged()) - retriedBefore;
    result.memory = memoryOf(target.pid);
    await clearEvents(redis);
  }
  const cpu = `cpu/click ${cpuUsPerClick.target.toFixed(1)} µs (redis ${cpuUsPerClick.redis.toFixed(1)}, wrk ${cpuUsPerClick.wrk.toFixed(1)})`;
  const events = result.events
    ? ` events ${result.events.distinctMain}/${wrk.main_307} dup ${result.events.duplicates} retried ${result.retriedAfterTimeout}`
    : "";
  log(
    `${shape} ${target.name} rep ${rep}: ${Math.round(result.clicksPerSecond)}/s p99 ${(wrk.latency_us.p99 / 1000).toFixed(2)} ms ${cpu}${events}`,
  );
  return result;
}

function machine() {
  const version = Bun.spawnSync(["wrk", "--version"]).stdout.toString().split("\n")[0]?.trim();
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    bun: Bun.version,
    wrk: version ?? "unknown",
    loadavgAtStart: loadavg(),
  };
}

/** Keep-alive clicks on one service until it served `clicks`, its memory read after every run: is it flat? */
async function soak(context: RunContext, service: Target, clicks: number) {
  const samples: Array<{ clicks: number; rssMb: number; peakMb: number }> = [];
  const runs: RunResult[] = [];
  let served = 0;
  while (served < clicks) {
    const run = await measure(
      { ...context, options: { ...context.options, warmup: 0 } },
      service,
      "keep-alive",
      runs.length + 1,
    );
    runs.push(run);
    served += run.wrk.requests;
    const memory = memoryOf(service.pid);
    samples.push({ clicks: served, rssMb: memory.current / 2 ** 20, peakMb: memory.peak / 2 ** 20 });
  }
  return { samples, runs };
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = readOptions(Bun.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options.micro) {
    await import("./micro");
    return;
  }

  ensureTools(
    [
      { command: "wrk", aptPackage: "wrk" },
      { command: "redis-server", aptPackage: "redis-server" },
      { command: "openssl", aptPackage: "openssl" },
      {
        command: "initdb",
        aptPackage: "postgresql",
        alsoAt: () =>
          Bun.spawnSync(["sh", "-c", "ls /usr/lib/postgresql/*/bin/initdb"]).stdout.toString().trim() ||
          undefined,
      },
    ],
    log,
  );

  const https = serviceHasHttpsListener();
  const shapes = options.shapes.filter((shape) => shape !== "https" || https);
  const skipped = options.shapes.includes("https") && !https ? "skipped: no HTTPS listener yet" : undefined;
  if (skipped) log(`https shape ${skipped} (src/config.ts has no HTTPS_PORT)`);

  const dir = tempDir("clicks-bench-");
  const traffic = buildTraffic();
  const dataFile = join(dir, "clicks-data.lua");
  writeFileSync(
    dataFile,
    luaData(
      traffic.requests,
      { path: `/click/${traffic.tailLinkId}/go?click=tail`, userAgent: "bench tail" },
      TAIL_LOCATION,
    ),
  );
  log(
    `traffic: ${traffic.requests.length} clicks over ${traffic.distinctUserAgents} distinct UAs and ${traffic.distinctLinks} links`,
  );

  const [redisServer, postgresServer] = await Promise.all([RedisServer.start(), PostgresServer.start()]);
  const databaseUrl = await postgresServer.createDatabase();
  await migrate(databaseUrl);
  await seedLinks(databaseUrl, traffic);
  const tls = https ? makeCertificate(dir) : undefined;
  const profileDir = options.profile ? join(process.cwd(), options.profile) : undefined;
  const setup = { databaseUrl, redisUrl: redisServer.url, tls, profileDir };

  const baseline = await startBaseline(tls);
  const services: Target[] = [];
  for (const workers of options.workers) services.push(await startService(workers, setup));
  if (options.compare) services.push(await startService(1, setup, checkoutRevision(options.compare)));
  const redisPid = findProcess(`redis-server 127.0.0.1:${redisServer.port}`);
  if (redisPid === undefined) throw new Error("cannot find the redis-server process");
  const context: RunContext = { options, redis: redisServer.client(), redisPid, traffic, dataFile };
  const info = machine();
  const startedAt = new Date().toISOString();

  const runs: RunResult[] = [];
  let soakSamples: Awaited<ReturnType<typeof soak>>["samples"] | undefined;
  let soakLost = 0;
  if (options.soak !== undefined) {
    const soaked = await soak(context, services[0] as Target, options.soak);
    soakSamples = soaked.samples;
    soakLost = soaked.runs.reduce((sum, run) => sum + lostOf(run), 0);
    runs.push(...soaked.runs);
  } else {
    for (const shape of shapes) {
      for (let rep = 1; rep <= options.reps; rep++) {
        for (const target of [baseline, ...services]) runs.push(await measure(context, target, shape, rep));
      }
    }
  }

  const memory = Object.fromEntries(services.map((service) => [service.name, memoryOf(service.pid)]));
  await Promise.all([baseline.stop(), ...services.map((service) => service.stop())]);
  await Promise.all([redisServer.stop(), postgresServer.stop()]);

  const summary = summarize(runs, memory, shapes);
  const results = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { ...info, loadavgAtEnd: loadavg() },
    options,
    traffic: {
      clicks: traffic.requests.length,
      distinctUserAgents: traffic.distinctUserAgents,
      links: traffic.distinctLinks,
    },
    https: skipped ?? "measured",
    summary,
    soak: soakSamples,
    runs,
  };
  const out = options.out ?? resultsFile(`${startedAt.replaceAll(":", "-")}.json`);
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);

  if (soakSamples) {
    for (const sample of soakSamples) {
      console.log(
        `after ${sample.clicks} clicks: RSS ${sample.rssMb.toFixed(1)} MB, peak ${sample.peakMb.toFixed(1)} MB`,
      );
    }
    console.log(`results: ${out}`);
    const first = soakSamples[0];
    const last = soakSamples.at(-1);
    if (first && last) {
      console.log(
        `soak clicks=${last.clicks} rss_first_mb=${Math.round(first.rssMb)} rss_last_mb=${Math.round(last.rssMb)} peak_mb=${Math.round(last.peakMb)} lost=${soakLost}`,
      );
    }
    return;
  }
  console.log(table(summary, skipped));
  console.log(`results: ${out}`);
  console.log(finalLine(summary));
}

await main();
process.exit(0);

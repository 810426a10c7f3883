import { join } from "node:path";
import type { ClickstoreHealth } from "../../src/clickstore/clickstore";
import { openPostgres } from "../../src/db/database";
import { createLinkRepository } from "../../src/links/repository";
import { parseEvent } from "./consumer";
import { type ClickResult, type LoadOptions, percentile, SEQ_PARAM, startLoad } from "./load";
import { waitFor } from "./ports";
import { sharedPostgres } from "./postgres";
import { RedisServer } from "./redis";
import { migrate, type ServiceProcess, spawnService, tempDir } from "./service";
import { spooledEvents } from "./spool";
import { childPidIn, isZombie, NON_REAPING_PARENT } from "./zombie";

/**
 * The fault scenarios of issue 3, shared by the tests (few clicks) and `bun run bench:faults` (more,
 * faster): real redis-server processes, the service as a child process, clicks over loopback.
 */

export const LINK_ID = 4242;
export const PUSH_TIMEOUT_MS = 250;

/** What became of a run's clicks, counted by click_id and by the `seq` each click carried. */
export interface Tally {
  sent: number;
  redirected: number;
  inRedis: number;
  inSpool: number;
  /** Seqs answered 307 whose event is nowhere. */
  lost: number[];
  /** Events beyond the first with the same click_id. */
  duplicates: number;
  /** Duplicated click_ids that no "possible duplicate" log line names. */
  unexplainedDuplicates: string[];
  /** Seqs that appear with more than one click_id (a click composed twice). */
  recomposed: number[];
  p99Ms: number;
  /** Clicks answered per second over the run. */
  ratePerSecond: number;
}

/** A Postgres database with the drizzle schema and one campaign link; returns its URL. */
export async function databaseWithLink(): Promise<string> {
  const url = await (await sharedPostgres()).createDatabase();
  await migrate(url);
  const database = openPostgres(url);
  try {
    await createLinkRepository(database.db).upsert({
      id: LINK_ID,
      campaign: "faults",
      network: "loopback",
      targetUrl: { ios: "https://apps.apple.com/app/id1", default: "https://example.com/" },
    });
  } finally {
    await database.close();
  }
  return url;
}

export function clickstoreEnv(nodes: RedisServer[]): Record<string, string> {
  return Object.fromEntries(nodes.map((node, index) => [`REDIS_URL_CLICKSTORE_${index + 1}`, node.url]));
}

/** The service as a child process on these nodes and this spool, logging at info. */
export function serviceOn(
  databaseUrl: string,
  nodes: RedisServer[],
  spoolDir: string,
  env: Record<string, string> = {},
  parent: readonly string[] = [],
): Promise<ServiceProcess> {
  return spawnService(
    {
      DATABASE_URL: databaseUrl,
      SPOOL_DIR: spoolDir,
      REDIS_PUSH_TIMEOUT_MS: String(PUSH_TIMEOUT_MS),
      LOG_LEVEL: "info",
      ...clickstoreEnv(nodes),
      ...env,
    },
    undefined,
    parent,
  );
}

export async function health(base: string): Promise<{ status: number; body: ClickstoreHealth }> {
  const response = await fetch(`${base}/check`, { headers: { accept: "application/json" } });
  return { status: response.status, body: (await response.json()) as ClickstoreHealth };
}

export function waitForDrainedSpool(base: string, timeoutMs = 30_000): Promise<true> {
  return waitFor(
    "the spool to drain",
    async () => ((await health(base)).body.spool?.events === 0 ? true : undefined),
    timeoutMs,
    50,
  );
}

/** The JSON lines a service logged. */
export function logLines(output: string): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {}
  }
  return lines;
}

/** The click_ids that the service's log names as possibly pushed twice. */
export function possibleDuplicateIds(output: string): Set<string> {
  const ids = new Set<string>();
  for (const line of logLines(output)) {
    if (line.possibleDuplicate !== true) continue;
    if (typeof line.clickId === "string") ids.add(line.clickId);
    if (Array.isArray(line.clickIds)) for (const id of line.clickIds) if (typeof id === "string") ids.add(id);
  }
  return ids;
}

export function eventSeq(event: string): number | undefined {
  const reqparams = parseEvent(event).params.get("reqparams");
  const seq = reqparams ? new URLSearchParams(reqparams).get(SEQ_PARAM) : null;
  return seq === null ? undefined : Number(seq);
}

export function eventClickId(event: string): string {
  const id = parseEvent(event).params.get("click_id");
  if (!id) throw new Error(`event without click_id: ${event}`);
  return id;
}

export function tally(
  results: ClickResult[],
  redisEvents: string[],
  spoolEvents: string[],
  serviceOutput: string,
): Tally {
  const explained = possibleDuplicateIds(serviceOutput);
  const seenIds = new Set<string>();
  const idsBySeq = new Map<number, Set<string>>();
  let duplicates = 0;
  const unexplained = new Set<string>();
  for (const event of [...redisEvents, ...spoolEvents]) {
    const id = eventClickId(event);
    if (seenIds.has(id)) {
      duplicates += 1;
      if (!explained.has(id)) unexplained.add(id);
    }
    seenIds.add(id);
    const seq = eventSeq(event);
    if (seq === undefined) continue;
    const ids = idsBySeq.get(seq) ?? new Set<string>();
    ids.add(id);
    idsBySeq.set(seq, ids);
  }
  const redirected = results.filter((result) => result.status === 307);
  return {
    sent: results.length,
    redirected: redirected.length,
    inRedis: redisEvents.length,
    inSpool: spoolEvents.length,
    lost: redirected.filter((result) => !idsBySeq.has(result.seq)).map((result) => result.seq),
    duplicates,
    unexplainedDuplicates: [...unexplained],
    recomposed: [...idsBySeq].filter(([, ids]) => ids.size > 1).map(([seq]) => seq),
    p99Ms: percentile(redirected, 0.99),
    ratePerSecond: rate(results),
  };
}

function rate(results: ClickResult[]): number {
  if (results.length === 0) return 0;
  const first = Math.min(...results.map((result) => result.startedAt));
  const last = Math.max(...results.map((result) => result.finishedAt));
  return (results.length * 1000) / Math.max(1, last - first);
}

export function formatTally(name: string, result: Tally): string {
  return [
    `${name}`,
    `  clicks sent          ${result.sent} (${Math.round(result.ratePerSecond)}/s)`,
    `  307s                 ${result.redirected}`,
    `  events in Redis      ${result.inRedis}`,
    `  events in the spool  ${result.inSpool}`,
    `  lost                 ${result.lost.length}`,
    `  duplicates           ${result.duplicates} (unexplained by the log: ${result.unexplainedDuplicates.length})`,
    `  p99 of 307s          ${result.p99Ms.toFixed(1)} ms`,
  ].join("\n");
}

async function allEvents(nodes: RedisServer[]): Promise<string[]> {
  return (await Promise.all(nodes.map((node) => node.events()))).flat();
}

async function stopAll(service: ServiceProcess, nodes: RedisServer[]): Promise<void> {
  if (service.process.exitCode === null) await service.kill("SIGTERM");
  await Promise.all(nodes.map((node) => node.stop()));
}

type LoadShape = Pick<LoadOptions, "count" | "concurrency" | "pauseMs">;

export interface KillOneNodeReport {
  tally: Tally;
  /** Clicks sent after the kill whose event is not on the surviving node. */
  laterNotOnSurvivor: number[];
}

/** (a) Steady load over two nodes; one is SIGKILLed a third of the way in. */
export async function killOneNode(shape: LoadShape): Promise<KillOneNodeReport> {
  const databaseUrl = await databaseWithLink();
  const nodes = [
    await RedisServer.start({ persistent: true }),
    await RedisServer.start({ persistent: true }),
  ];
  const [victim, survivor] = nodes as [RedisServer, RedisServer];
  const spoolDir = join(tempDir(), "spool");
  const service = await serviceOn(databaseUrl, nodes, spoolDir);
  try {
    const load = startLoad({ base: service.url, linkId: LINK_ID, ...shape });
    await waitFor("a third of the clicks", () => load.completed() >= shape.count / 3 || undefined, 60_000, 5);
    await victim.stop();
    const killedAt = performance.now();
    const results = await load.done;
    // Its append-only file holds what it acknowledged before the kill.
    await victim.start();
    const survivorSeqs = new Set((await survivor.events()).map(eventSeq));
    return {
      tally: tally(results, await allEvents(nodes), spooledEvents(spoolDir), service.output()),
      laterNotOnSurvivor: results
        .filter(
          (result) => result.status === 307 && result.startedAt > killedAt && !survivorSeqs.has(result.seq),
        )
        .map((result) => result.seq),
    };
  } finally {
    await stopAll(service, nodes);
  }
}

export interface KillAllNodesReport {
  tally: Tally;
  /** Clicks answered 307 while every node was down; and those of them not in the spool then. */
  redirectedWhileDown: number;
  missingFromSpoolWhileDown: number[];
}

/** (b) Every node is SIGKILLed mid-load, then started again; the spool drains under load. */
export async function killAllNodes(shape: LoadShape): Promise<KillAllNodesReport> {
  const databaseUrl = await databaseWithLink();
  const nodes = [
    await RedisServer.start({ persistent: true }),
    await RedisServer.start({ persistent: true }),
  ];
  const spoolDir = join(tempDir(), "spool");
  const service = await serviceOn(databaseUrl, nodes, spoolDir);
  try {
    const load = startLoad({ base: service.url, linkId: LINK_ID, ...shape });
    await waitFor("a third of the clicks", () => load.completed() >= shape.count / 3 || undefined, 60_000, 5);
    await Promise.all(nodes.map((node) => node.stop()));
    const killedAt = performance.now();
    await waitFor(
      "two thirds of the clicks",
      () => load.completed() >= (2 * shape.count) / 3 || undefined,
      60_000,
      5,
    );
    const spooledSeqs = new Set(spooledEvents(spoolDir).map(eventSeq));
    const whileDown = load.results.filter((result) => result.status === 307 && result.startedAt > killedAt);
    await Promise.all(nodes.map((node) => node.start()));
    const results = await load.done;
    await waitForDrainedSpool(service.url);
    return {
      tally: tally(results, await allEvents(nodes), spooledEvents(spoolDir), service.output()),
      redirectedWhileDown: whileDown.length,
      missingFromSpoolWhileDown: whileDown.filter((result) => !spooledSeqs.has(result.seq)).map((r) => r.seq),
    };
  } finally {
    await stopAll(service, nodes);
  }
}

export interface KillServiceReport {
  tally: Tally;
  /** Events in the spool files when the service was killed. */
  spooledAtKill: number;
  /** Clicks answered 307 before the kill whose event was not in the spool files right after it. */
  missingFromSpoolAtKill: number[];
  /** Spooled events of clicks that got no answer: the kill came between their fsync and their 307. */
  keptWithoutAnswer: number;
  /** With `zombie`: the killed service was still a zombie (dead, not reaped) once the next one had started. */
  zombieAtRestart: boolean | undefined;
}

export interface KillServiceOptions {
  /**
   * Run the service under a parent that does not reap it (stopped before the kill), as under an init
   * that reaps no orphans: the killed service stays a zombie while the next one starts.
   */
  zombie?: boolean;
}

/** (d) Redis is down, clicks go to the spool, the service is SIGKILLed mid-load; a new one drains the spool. */
export async function killService(
  shape: LoadShape,
  { zombie = false }: KillServiceOptions = {},
): Promise<KillServiceReport> {
  const databaseUrl = await databaseWithLink();
  const node = await RedisServer.start();
  const spoolDir = join(tempDir(), "spool");
  const first = await serviceOn(databaseUrl, [node], spoolDir, {}, zombie ? NON_REAPING_PARENT : []);
  let service = first;
  try {
    await node.stop();
    const load = startLoad({ base: service.url, linkId: LINK_ID, ...shape });
    await waitFor("half of the clicks", () => load.completed() >= shape.count / 2 || undefined, 60_000, 5);
    load.stop();
    const killedPid = zombie ? childPidIn(first.output()) : first.process.pid;
    if (killedPid === undefined) throw new Error(`no service pid in:\n${first.output()}`);
    if (zombie) {
      first.process.kill("SIGSTOP");
      process.kill(killedPid, "SIGKILL");
      await waitFor("the killed service to be a zombie", () => isZombie(killedPid) || undefined);
    } else {
      await first.kill("SIGKILL");
    }
    const results = await load.done;
    const spooled = spooledEvents(spoolDir);
    const spooledSeqs = new Set(spooled.map(eventSeq));
    const firstOutput = first.output();

    await node.start();
    service = await serviceOn(databaseUrl, [node], spoolDir);
    const zombieAtRestart = zombie ? isZombie(killedPid) : undefined;
    await waitForDrainedSpool(service.url);
    return {
      tally: tally(results, await node.events(), spooledEvents(spoolDir), firstOutput + service.output()),
      spooledAtKill: spooled.length,
      missingFromSpoolAtKill: results
        .filter((result) => result.status === 307 && !spooledSeqs.has(result.seq))
        .map((result) => result.seq),
      keptWithoutAnswer: spooled.length - results.filter((result) => result.status === 307).length,
      zombieAtRestart,
    };
  } finally {
    if (zombie) {
      // Resumed, the parent reaps the zombie and ends.
      first.process.kill("SIGCONT");
      await first.process.exited;
    }
    await stopAll(service, [node]);
  }
}

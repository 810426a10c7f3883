import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { loadConfig, secretValues } from "../../src/config";
import { openPostgres } from "../../src/db/database";
import { createLogger } from "../../src/logger";
import { type RunningService, startService } from "../../src/server";
import { track, trackFolder, untrack } from "./cleanup";
import { freePort, waitFor } from "./ports";
import { sharedPostgres } from "./postgres";
import { RedisServer } from "./redis";

const ROOT = join(import.meta.dir, "..", "..");

export function tempDir(prefix = "clicks-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  trackFolder(dir);
  return dir;
}

/** Applies drizzle/ to a Postgres database, as `bun run db:migrate` does. */
export async function migrate(databaseUrl: string): Promise<void> {
  const database = openPostgres(databaseUrl);
  try {
    await database.migrate();
  } finally {
    await database.close();
  }
}

type Env = Record<string, string | undefined>;

/**
 * The service in this process, on a free loopback port, with its data in a temporary folder.
 * With `logTo`, its log lines go there (LOG_LEVEL in `env` then decides which; default info).
 */
export async function startTestService(env: Env = {}, logTo?: LogLines): Promise<RunningService> {
  const config = loadConfig({
    PORT: String(freePort()),
    HOST: "127.0.0.1",
    DATA_DIR: tempDir(),
    LOG_LEVEL: logTo ? "info" : "silent",
    ...env,
  });
  const logger = createLogger(config.logLevel, {
    secrets: secretValues(config),
    ...(logTo ? { destination: logTo } : {}),
  });
  return startService(config, logger);
}

/** A log destination that keeps every line, for tests that read what the service logged. */
export class LogLines {
  readonly lines: string[] = [];

  write(line: string): void {
    this.lines.push(line);
  }

  /** Every line parsed as JSON (a line that is not JSON fails the test here). */
  entries(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface ServiceProcess {
  url: string;
  process: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the process logged so far (stdout and stderr). */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<number>;
}

/**
 * The service as its own process (`bun src/main.ts`), for tests that kill or signal it.
 * `root`: another copy of the project to run (the benchmark compares revisions).
 * `parent`: a command to run the service under (test/support/zombie.ts); `process` is then that parent.
 */
export async function spawnService(
  env: Env = {},
  root = ROOT,
  parent: readonly string[] = [],
): Promise<ServiceProcess> {
  const port = env.PORT ?? String(freePort());
  const child = Bun.spawn([...parent, "bun", join(root, "src", "main.ts")], {
    cwd: root,
    env: { ...process.env, PORT: port, HOST: "127.0.0.1", DATA_DIR: tempDir(), ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  track(child);
  let log = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) log += decoder.decode(chunk, { stream: true });
  };
  void collect(child.stdout);
  void collect(child.stderr);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    `service on ${port}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`service exited ${child.exitCode}:\n${log}`);
      return log.includes("clicks is listening") || undefined;
    },
    30_000,
  );
  return {
    url,
    process: child,
    output: () => log,
    async kill(signal = "SIGTERM") {
      child.kill(signal);
      const code = await child.exited;
      untrack(child);
      return code;
    },
  };
}

/** A click as an ad network's redirect would send it: no redirect following. */
export function click(base: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}${path}`, { redirect: "manual", ...init });
}

/** A service on a fresh Postgres database (migrated) with one real redis-server as its clickstore. */
export async function startServiceWithRedis(
  env: Env = {},
): Promise<{ database: string; redis: RedisServer; service: RunningService }> {
  const database = await (await sharedPostgres()).createDatabase();
  await migrate(database);
  const redis = await RedisServer.start();
  const service = await startTestService({
    DATABASE_URL: database,
    REDIS_URL_CLICKSTORE_1: redis.url,
    ...env,
  });
  return { database, redis, service };
}

/** Runs a command to its end; what it printed and its exit code. */
export async function runCommand(
  command: string[],
  env: Env = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn(command, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

import { chownSync, existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import postgres from "postgres";
import { track, trackFolder, untrack } from "./cleanup";
import { freePort, waitFor } from "./ports";

// PostgreSQL refuses to run as root: as root, initdb and postgres run as this user.
const UNPRIVILEGED_USER = "nobody";

function findBinary(name: string): string {
  const fromPath = Bun.which(name);
  if (fromPath) return fromPath;
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    for (const version of readdirSync(root).sort().reverse()) {
      const candidate = join(root, version, "bin", name);
      if (existsSync(candidate)) return candidate;
    }
  }
  throw new Error(`${name} not found: install PostgreSQL (scripts/test.sh does)`);
}

// setpriv execs the command in its own place: signals reach postgres itself. (runuser stays in
// between and passes on neither SIGINT nor its own death, so stop() hung and clusters outlived runs.)
function asUnprivileged(command: string[]): string[] {
  if (process.getuid?.() !== 0) return command;
  const { uid: user, gid } = uid(UNPRIVILEGED_USER);
  return ["setpriv", `--reuid=${user}`, `--regid=${gid}`, "--clear-groups", ...command];
}

function uid(user: string): { uid: number; gid: number } {
  const result = Bun.spawnSync(["id", "-u", user]);
  const group = Bun.spawnSync(["id", "-g", user]);
  return { uid: Number(result.stdout.toString().trim()), gid: Number(group.stdout.toString().trim()) };
}

/** A real PostgreSQL cluster on a free loopback port, in a temporary folder; stoppable and restartable. */
export class PostgresServer {
  readonly port = freePort();
  private readonly dir = mkdtempSync(join(tmpdir(), "clicks-pg-"));
  private process: Subprocess | undefined;
  private databases = 0;

  private constructor() {
    trackFolder(this.dir);
  }

  static async start(): Promise<PostgresServer> {
    const server = new PostgresServer();
    if (process.getuid?.() === 0) {
      const { uid: owner, gid } = uid(UNPRIVILEGED_USER);
      chownSync(server.dir, owner, gid);
    }
    const init = Bun.spawnSync(
      asUnprivileged([
        findBinary("initdb"),
        "-D",
        join(server.dir, "data"),
        "-U",
        "postgres",
        "--auth=trust",
        "--no-sync",
        "-E",
        "UTF8",
      ]),
      { stdout: "ignore", stderr: "pipe" },
    );
    if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`);
    await server.start();
    return server;
  }

  url(database = "postgres"): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    this.process = Bun.spawn(
      asUnprivileged([
        findBinary("postgres"),
        "-D",
        join(this.dir, "data"),
        "-p",
        String(this.port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        `unix_socket_directories=${this.dir}`,
        "-c",
        "fsync=off",
        "-c",
        "max_connections=200",
      ]),
      { stdout: "ignore", stderr: "ignore" },
    );
    track(this.process);
    await waitFor(`postgres on ${this.port}`, () => this.ready(), 20_000, 50);
  }

  /** Fast shutdown: connections are cut, as when the database goes away. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = undefined;
    child.kill("SIGINT");
    await child.exited;
    untrack(child);
  }

  /** A fresh, empty database; returns its URL. */
  async createDatabase(): Promise<string> {
    this.databases += 1;
    const name = `clicks_test_${process.pid}_${this.databases}`;
    const admin = postgres(this.url(), { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`create database ${name}`);
    } finally {
      await admin.end();
    }
    return this.url(name);
  }

  private async ready(): Promise<boolean | undefined> {
    const probe = postgres(this.url(), { max: 1, connect_timeout: 1, onnotice: () => {} });
    try {
      await probe`select 1`;
      return true;
    } catch {
      return undefined;
    } finally {
      await probe.end({ timeout: 1 });
    }
  }
}

let shared: Promise<PostgresServer> | undefined;

/** One cluster for the whole test run; each test file takes its own database from it. */
export function sharedPostgres(): Promise<PostgresServer> {
  shared ??= PostgresServer.start();
  return shared;
}

import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { takeFileLock } from "../file-lock";
import { within } from "../within";
import { NotMigratedError } from "./problem";
import { retryDelayMs } from "./retry";
import * as schema from "./schema";

/** The drizzle handle, whichever driver is behind it. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** What a LISTEN on one channel reports. */
export interface ChannelListener {
  /** The payload of a `pg_notify` on the channel, after its transaction committed. */
  onNotify(payload: string): void;
  /** Listening, the first time or again: anything notified before this may have been missed. */
  onListen(): void;
  /** Not listening: the connection dropped (no error) or an attempt failed. It retries by itself. */
  onDown(error?: unknown): void;
}

export interface Listening {
  close(): Promise<void>;
}

/** A session-level advisory lock, held on a connection of its own for as long as it stays open. */
export interface AdvisoryLock {
  /**
   * Whether this process holds the lock now, taking it when it is free. The lock lives as long as
   * its connection: a connection lost (and opened again) has lost it, and this takes it again only
   * if nobody else did meanwhile.
   */
  hold(): Promise<boolean>;
  /** Releases the lock by closing its connection. */
  close(): Promise<void>;
}

/** Held already on this session, else taken if free; one key below 2^31, so classid is 0. */
function holdLockSql(key: number): string {
  if (!Number.isInteger(key) || key < 0 || key >= 2 ** 31)
    throw new Error(`advisory lock key out of range: ${key}`);
  return `select case when exists (select 1 from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() and classid = 0 and objid = ${key} and objsubid = 1 and granted) then true else pg_try_advisory_lock(${key}) end as held`;
}

export interface Database {
  db: Db;
  kind: "postgres" | "pglite";
  /** Applies the migrations in drizzle/; run once per deploy, never per machine start on Postgres. */
  migrate(): Promise<void>;
  /** Rejects with NotMigratedError while a migration in drizzle/ is not applied to this database. */
  checkMigrated(): Promise<void>;
  /** LISTENs on `channel` until closed, reconnecting after a lost connection. */
  listen(channel: string, listener: ChannelListener): Listening;
  /** The advisory lock `key`, on a connection of its own (`name`: its application_name). */
  advisoryLock(key: number, name: string): AdvisoryLock;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = join(import.meta.dir, "..", "..", "drizzle");

const INSUFFICIENT_PRIVILEGE = "42501";

/** How many migrations drizzle/ holds: its journal has one entry each. */
function migrationCount(): number {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

/** The embedded database's folder inside the data dir. */
export function pgliteFolder(dataDir: string): string {
  return join(dataDir, "pglite");
}

const CONNECT_TIMEOUT_SECONDS = 5;

type PostgresOptions = postgres.Options<Record<string, postgres.PostgresType>>;

/**
 * LISTEN on a connection of its own. postgres.js's `sql.listen` reconnects by itself but never says
 * when its connection dropped, and the link cache must know when it stops hearing about changes. So
 * this uses the two hooks `sql.listen` is built on: `onnotify` (every notification on the connection)
 * and `onclose`; re-subscribing after a drop is this function's job.
 */
function listenPostgres(url: string, channel: string, listener: ChannelListener): Listening {
  let state: "subscribing" | "listening" | "closed" = "subscribing";
  let failures = 0;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const options: PostgresOptions & { onnotify(name: string, payload: string): void } = {
    max: 1,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    // The connection stays open for as long as the service runs: recycling it would drop the LISTEN.
    max_lifetime: null,
    // As for the pool below: the array-type read on connect can crash the process when the connection drops.
    fetch_types: false,
    // Retries are paced below, so a LISTEN that fails on a live connection is paced as well.
    backoff: false,
    connection: { application_name: "clicks link changes" },
    onnotice: () => {},
    onnotify(name, payload) {
      if (name === channel && state !== "closed") listener.onNotify(payload);
    },
    onclose() {
      if (state !== "listening") return;
      state = "subscribing";
      listener.onDown();
      subscribe();
    },
  };
  const client = postgres(url, options);
  const quoted = `"${channel.replaceAll('"', '""')}"`;

  function subscribe(): void {
    retry = undefined;
    client.unsafe(`listen ${quoted}`).then(
      () => {
        if (state === "closed") return;
        state = "listening";
        failures = 0;
        listener.onListen();
      },
      (error: unknown) => {
        if (state === "closed") return;
        listener.onDown(error);
        retry = setTimeout(subscribe, retryDelayMs(failures++));
      },
    );
  }
  subscribe();

  return {
    async close() {
      if (state === "closed") return;
      state = "closed";
      clearTimeout(retry);
      await client.end({ timeout: 1 });
    },
  };
}

/** Longest a lock query may take before its connection is taken for lost (connect timeout, and a second). */
const LOCK_QUERY_TIMEOUT_MS = (CONNECT_TIMEOUT_SECONDS + 1) * 1000;

function lockPostgres(url: string, key: number, name: string): AdvisoryLock {
  const query = holdLockSql(key);
  const connect = () =>
    postgres(url, {
      max: 1,
      connect_timeout: CONNECT_TIMEOUT_SECONDS,
      // The lock is the connection's: recycling it would hand the lock to whoever asks first.
      max_lifetime: null,
      idle_timeout: 0,
      fetch_types: false,
      connection: { application_name: name },
      onnotice: () => {},
    });
  let client = connect();
  return {
    async hold() {
      // A query sent while Postgres restarts can stay unanswered for good on postgres.js's one
      // connection, and the machine would never ask for the lock again. Past the timeout the
      // connection (and any lock it held) is dropped, and the next question goes on a new one.
      const answer = client.unsafe<Array<{ held: boolean }>>(query);
      const [row] = await within(answer, LOCK_QUERY_TIMEOUT_MS, () => {
        const stuck = client;
        client = connect();
        stuck.end({ timeout: 0 }).catch(() => {});
        throw new Error(`the ${name} lock query took longer than ${LOCK_QUERY_TIMEOUT_MS} ms`);
      });
      return row?.held === true;
    },
    close: () => client.end({ timeout: 1 }),
  };
}

export function openPostgres(url: string): Database {
  const client = postgres(url, {
    max: 10,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    idle_timeout: 60,
    // postgres.js counts failed connects from 1 and wants seconds. Its own curve waits up to 20 s,
    // which would hold the first queries after Postgres comes back for that long.
    backoff: (failedConnects) => retryDelayMs(failedConnects - 1) / 1000,
    // postgres.js 3.4.9 reads the array types on each new connection without awaiting it: a connection
    // lost meanwhile (Postgres restarting) rejects that read unhandled and kills the process
    // (porsager/postgres#1192, #1223). No column here is an array, and drizzle never uses reserve(),
    // which this setting would stall (#1219).
    fetch_types: false,
    onnotice: () => {},
  });
  const db = drizzlePostgres(client, { schema });
  const listeners = new Set<Listening>();
  return {
    db,
    kind: "postgres",
    migrate: () => migratePostgres(db, { migrationsFolder: MIGRATIONS_FOLDER }),
    async checkMigrated() {
      // drizzle's migrator records each migration it applied as a row of this table. A role that
      // may only read the links' tables cannot see it: then nothing tells, and the links decide.
      const [row] = await client
        .unsafe<Array<{ applied: number }>>(
          "select count(*)::int as applied from drizzle.__drizzle_migrations",
        )
        .catch((error: unknown) => {
          if ((error as { code?: unknown }).code === INSUFFICIENT_PRIVILEGE) return [];
          throw error;
        });
      if (row === undefined) return;
      const missing = migrationCount() - row.applied;
      if (missing > 0) throw new NotMigratedError(`${missing} migration(s) of drizzle/ not applied`);
    },
    listen(channel, listener) {
      const listening = listenPostgres(url, channel, listener);
      listeners.add(listening);
      return {
        close() {
          listeners.delete(listening);
          return listening.close();
        },
      };
    },
    advisoryLock: (key, name) => lockPostgres(url, key, name),
    async close() {
      await Promise.all([...listeners].map((listening) => listening.close()));
      listeners.clear();
      await client.end({ timeout: 5 });
    },
  };
}

/**
 * PGlite is one process's database: a second process opening the same folder would corrupt it.
 * A lock file makes the second one (the links CLI while the service runs, say) stop with a clear message.
 */
function lockPglite(dataDir: string): () => void {
  return takeFileLock(
    join(dataDir, "pglite.pid"),
    (holder) =>
      `the embedded database in ${dataDir} is in use by ${holder}: stop it first, or set DATABASE_URL to share a PostgreSQL database`,
  );
}

export async function openPglite(dataDir: string): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockPglite(dataDir);
  const client = await PGlite.create(pgliteFolder(dataDir)).catch((error: unknown) => {
    unlock();
    throw error;
  });
  const db = drizzlePglite(client, { schema });
  return {
    db,
    kind: "pglite",
    migrate: () => migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER }),
    // The embedded database migrates itself as it opens.
    checkMigrated: async () => {},
    listen(channel, listener) {
      // In process: the connection cannot drop, so onListen comes once and onDown only if LISTEN fails.
      const unlisten = client
        .listen(channel, (payload) => listener.onNotify(payload))
        .then(
          (stop) => {
            listener.onListen();
            return stop;
          },
          (error: unknown) => {
            listener.onDown(error);
            return undefined;
          },
        );
      return {
        async close() {
          const stop = await unlisten;
          if (stop && !client.closed) await stop();
        },
      };
    },
    advisoryLock(key) {
      // One process, one session: the same query, and the lock goes with the database.
      const query = holdLockSql(key);
      return {
        async hold() {
          const result = await client.query<{ held: boolean }>(query);
          return result.rows[0]?.held === true;
        },
        async close() {},
      };
    },
    async close() {
      await client.close();
      unlock();
    },
  };
}

/** Postgres when a URL is configured, else the embedded PGlite database (migrated here: it has one process). */
export async function openDatabase(config: {
  databaseUrl: string | undefined;
  dataDir: string;
}): Promise<Database> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl);
  const database = await openPglite(config.dataDir);
  await database.migrate();
  return database;
}

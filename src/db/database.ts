import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { lockWithPidFile } from "../pid-lock";
import * as schema from "./schema";

/** The drizzle handle, whichever driver is behind it. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: "postgres" | "pglite";
  /** Applies the migrations in drizzle/; run once per deploy, never per machine start on Postgres. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = join(import.meta.dir, "..", "..", "drizzle");

/** The embedded database's folder inside the data dir. */
export function pgliteFolder(dataDir: string): string {
  return join(dataDir, "pglite");
}

export function openPostgres(url: string): Database {
  const client = postgres(url, {
    max: 10,
    connect_timeout: 5,
    idle_timeout: 60,
    onnotice: () => {},
  });
  const db = drizzlePostgres(client, { schema });
  return {
    db,
    kind: "postgres",
    migrate: () => migratePostgres(db, { migrationsFolder: MIGRATIONS_FOLDER }),
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * PGlite is one process's database: a second process opening the same folder would corrupt it.
 * A pid file makes the second one (the links CLI while the service runs, say) stop with a clear message.
 */
function lockPglite(dataDir: string): () => void {
  return lockWithPidFile(
    join(dataDir, "pglite.pid"),
    (holder) =>
      `the embedded database in ${dataDir} is in use by process ${holder}: stop it first, or set DATABASE_URL to share a PostgreSQL database`,
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

import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import postgres from "postgres";
import { createLink } from "../support/api";
import { waitFor } from "../support/ports";
import { sharedPostgres } from "../support/postgres";
import { click, migrate, type ServiceProcess, spawnService } from "../support/service";

// Service and PostgreSQL processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "flood-secret";
const DISTINCT_UNKNOWN = 2_000;
const REPEATED_UNKNOWN = 500;
const CONCURRENCY = 50;
// What the service reads for itself: two reloads at start (before and after its LISTEN connects) and,
// for the link the test creates, the write's conflict check, the API's read-back and the notified
// re-read: 5, plus room for a reload more. A lookup per unknown id would be hundreds or thousands.
const MAX_TABLE_READS = 8;

let admin: postgres.Sql;
let databaseUrl: string;

/** Scans of campaign_links (sequential and index) that reached the statistics. */
async function tableReads(): Promise<number> {
  const [row] = await admin.unsafe<Array<{ reads: string }>>(
    "select coalesce(seq_scan, 0) + coalesce(idx_scan, 0) as reads from pg_stat_user_tables where relname = 'campaign_links'",
  );
  return Number(row?.reads);
}

/**
 * A backend reports its statistics at the latest when it exits, so the count is complete once every
 * connection but the test's own is gone.
 */
async function othersGone(): Promise<void> {
  await waitFor(
    "every other connection to end",
    async () => {
      const [row] = await admin.unsafe<Array<{ count: string }>>(
        "select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
      );
      return Number(row?.count) === 0 || undefined;
    },
    20_000,
  );
}

async function flood(base: string, ids: number[]): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ids.length) {
        const id = ids[next++];
        const response = await click(base, `/click/${id}/go`);
        await response.arrayBuffer();
        statuses.push(response.status);
      }
    }),
  );
  return statuses;
}

beforeAll(async () => {
  databaseUrl = await (await sharedPostgres()).createDatabase();
  await migrate(databaseUrl);
  admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
});

afterAll(async () => {
  await admin?.end();
});

test("(e) a flood of clicks for ids that do not exist costs Postgres a bounded number of reads", async () => {
  await othersGone();
  const before = await tableReads();

  const service: ServiceProcess = await spawnService({
    DATABASE_URL: databaseUrl,
    API_SECRET_KEY: SECRET,
    LINK_REFRESH_SECONDS: "3600",
  });
  try {
    expect(service.output()).toContain('"followingChanges":true');
    await createLink(service.url, SECRET, { id: 1, target_url: { default: "https://example.com/1" } });

    const distinct = Array.from({ length: DISTINCT_UNKNOWN }, (_, i) => 1_000_000 + i);
    const repeated = Array.from({ length: REPEATED_UNKNOWN }, () => 777);
    const statuses = await flood(service.url, [...distinct, ...repeated]);
    expect(statuses.length).toBe(DISTINCT_UNKNOWN + REPEATED_UNKNOWN);
    expect(statuses.every((status) => status === 404)).toBe(true);
    expect((await click(service.url, "/click/1/go")).status).toBe(307);
  } finally {
    await service.kill();
  }

  await othersGone();
  const reads = (await tableReads()) - before;
  // At least the load at start: the statistics did arrive.
  expect(reads).toBeGreaterThanOrEqual(1);
  expect(reads).toBeLessThanOrEqual(MAX_TABLE_READS);
});

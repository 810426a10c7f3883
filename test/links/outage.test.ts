import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import postgres from "postgres";
import { createLink } from "../support/api";
import { destination } from "../support/link-changes";
import { Scrape } from "../support/metrics";
import { waitFor } from "../support/ports";
import { PostgresServer } from "../support/postgres";
import { click, migrate, type ServiceProcess, spawnService } from "../support/service";

// Service and PostgreSQL processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const PROPAGATION_MS = 1_000;
// Generous on purpose (a shared, busy machine): without the lookup bound a miss would wait for
// Postgres's 5 s connect timeout or the driver's reconnect backoff.
const UNKNOWN_LINK_BOUND_MS = 2_000;
const SECRET = "outage-secret";
const OUTAGE_METRICS_TOKEN = "outage-metrics-token";
// B connects as its own role, so the test can keep just B's LISTEN from coming back (test d).
const ROLE_B = "clicks_b";
const LISTENER = "clicks link changes";
const INTERRUPTED = "link sync interrupted: serving the links in memory while retrying";
const RESTORED = "link sync restored";

let server: PostgresServer;
let database: string;
let a: ServiceProcess;
let b: ServiceProcess;

function admin(): postgres.Sql {
  return postgres(server.url(database), { max: 1, onnotice: () => {} });
}

async function query<T extends postgres.Row>(text: string): Promise<T[]> {
  const sql = admin();
  try {
    return await sql.unsafe<T[]>(text);
  } finally {
    await sql.end();
  }
}

/**
 * Both instances follow changes again: each LISTEN connection is up (one backend running `listen`
 * each), and each instance has logged its recovery from every interruption, which it does once a
 * reload after reconnecting has succeeded (no retry is left pending).
 */
async function settled(): Promise<void> {
  await waitFor(
    "both instances following changes again",
    async () => {
      const rows = await query<{ count: string }>(
        `select count(*) from pg_stat_activity where application_name = '${LISTENER}' and query ilike 'listen%'`,
      );
      const recovered = [a, b].every(
        (instance) => count(instance.output(), INTERRUPTED) === count(instance.output(), RESTORED),
      );
      return (Number(rows[0]?.count) === 2 && recovered) || undefined;
    },
    20_000,
    50,
  );
}

function count(output: string, message: string): number {
  return output.split("\n").filter((line) => line.includes(`"msg":"${message}"`)).length;
}

async function follows(instance: ServiceProcess, id: number, expected: string, timeoutMs = PROPAGATION_MS) {
  await waitFor(
    `${instance.url} to answer ${expected} for link ${id}`,
    async () => (await destination(instance.url, id)) === expected || undefined,
    timeoutMs,
    10,
  );
}

beforeAll(async () => {
  server = await PostgresServer.start();
  database = new URL(await server.createDatabase()).pathname.slice(1);
  await migrate(server.url(database));
  await query(`create role ${ROLE_B} login superuser`);
  const env = { API_SECRET_KEY: SECRET, LINK_REFRESH_SECONDS: "3600" };
  const urlB = server.url(database).replace("postgres@", `${ROLE_B}@`);
  [a, b] = await Promise.all([
    spawnService({ ...env, DATABASE_URL: server.url(database) }),
    spawnService({ ...env, DATABASE_URL: urlB }),
  ]);
  await createLink(a.url, SECRET, { id: 1, target_url: { default: "https://example.com/one" } });
  await Promise.all([follows(a, 1, "https://example.com/one"), follows(b, 1, "https://example.com/one")]);
}, 90_000);

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  await server?.stop();
});

describe("Postgres trouble", () => {
  test("(c) Postgres stopped: cached links keep redirecting, unknown ids answer quickly; back, changes flow again", async () => {
    await server.stop();
    for (const instance of [a, b]) {
      for (let n = 0; n < 20; n++) expect(await destination(instance.url, 1)).toBe("https://example.com/one");
      const started = performance.now();
      const unknown = await click(instance.url, "/click/424242/go");
      expect(unknown.status).toBe(404);
      expect(performance.now() - started).toBeLessThan(UNKNOWN_LINK_BOUND_MS);
      // Still ready: clicks do not need Postgres.
      expect((await fetch(`${instance.url}/check`)).status).toBe(200);
    }

    await server.start();
    await settled();
    await createLink(a.url, SECRET, { id: 1, target_url: { default: "https://example.com/after" } });
    await Promise.all([
      follows(a, 1, "https://example.com/after"),
      follows(b, 1, "https://example.com/after"),
    ]);
    for (const instance of [a, b]) {
      await waitFor("the recovery log", () => count(instance.output(), RESTORED) === 1 || undefined);
      expect(count(instance.output(), INTERRUPTED)).toBe(1);
    }
  }, 60_000);

  test("restarts of Postgres under clicks do not take an instance down", async () => {
    // Each restart drops every connection, some mid-handshake: a driver error left unhandled there
    // ended the process. Clicks for unknown ids keep the instances connecting while their LISTEN is down.
    let clicking = true;
    let nextId = 900_000;
    const clickers = [a, b].map(async (instance) => {
      while (clicking) expect(await destination(instance.url, nextId++)).toBe("404");
    });
    try {
      for (let restart = 0; restart < 8; restart++) {
        await server.stop();
        await server.start();
        await Bun.sleep(restart * 20);
      }
    } finally {
      clicking = false;
      await Promise.all(clickers);
    }
    await settled();
    for (const instance of [a, b]) {
      expect(instance.process.exitCode).toBeNull();
      expect(await destination(instance.url, 1)).toStartWith("https://example.com/");
    }
  }, 60_000);

  test("(d) a change made while B's LISTEN was down reaches B through the reload after it reconnects", async () => {
    // Nothing left over from an earlier test (a reload still being retried) may bring B the change.
    await settled();
    const [{ hba_file: hbaFile } = { hba_file: "" }] = await query<{ hba_file: string }>("show hba_file");
    const original = readFileSync(hbaFile, "utf8");
    try {
      // New connections of B's role are refused, so B's LISTEN stays down until the test allows it back.
      writeFileSync(hbaFile, `host all ${ROLE_B} 127.0.0.1/32 reject\n${original}`);
      await query("select pg_reload_conf()");
      await waitFor("B's role to be refused", async () => {
        const probe = postgres(server.url(database).replace("postgres@", `${ROLE_B}@`), { max: 1 });
        try {
          await probe`select 1`;
          return undefined;
        } catch {
          return true;
        } finally {
          await probe.end();
        }
      });
      const before = await destination(b.url, 1);
      // Found first, then ended: in one statement Postgres may call pg_terminate_backend on rows before
      // the other conditions have ruled them out.
      const listenerOfB = await query<{ pid: number }>(
        `select pid from pg_stat_activity where usename = '${ROLE_B}' and application_name = '${LISTENER}'`,
      );
      expect(listenerOfB).toHaveLength(1);
      await query(`select pg_terminate_backend(${listenerOfB[0]?.pid})`);

      await createLink(a.url, SECRET, { id: 1, target_url: { default: "https://example.com/missed" } });
      expect(await destination(a.url, 1)).toBe("https://example.com/missed");
      // B heard nothing and has no reason to ask: it still serves what it had.
      await Bun.sleep(300);
      expect(await destination(b.url, 1)).toBe(before);

      writeFileSync(hbaFile, original);
      await query("select pg_reload_conf()");
      // B retries at most every 2 s (plus jitter); then its reload after reconnecting finds the change.
      await follows(b, 1, "https://example.com/missed", 10_000);
      await settled();
    } finally {
      writeFileSync(hbaFile, original);
      await query("select pg_reload_conf()");
    }
  }, 60_000);
  test("started while Postgres is down: listens, /check and clicks say why, serves once the links load", async () => {
    await server.stop();
    const c = await spawnService({
      API_SECRET_KEY: SECRET,
      DATABASE_URL: server.url(database),
      METRICS_TOKEN: OUTAGE_METRICS_TOKEN,
    });
    const scrape = async () =>
      Scrape.of(
        await fetch(`${c.url}/metrics`, { headers: { authorization: `Bearer ${OUTAGE_METRICS_TOKEN}` } }),
      );
    try {
      const check = await fetch(`${c.url}/check`);
      expect(check.status).toBe(503);
      expect(await check.text()).toBe("links not loaded: database unreachable");
      const early = await click(c.url, "/click/1/go");
      expect(early.status).toBe(503);
      expect(early.headers.get("retry-after")).toBe("1");
      expect(await early.text()).toBe("Service Unavailable: links not loaded: database unreachable");
      const notReady = await scrape();
      expect(notReady.value("clicks_ready")).toBe(0);
      expect(notReady.value("clicks_failed_requests_total", { reason: "not_ready" })).toBe(1);
      expect(notReady.value("clicks_links_loaded_timestamp_seconds")).toBe(0);

      await server.start();
      await waitFor("ready", async () => (await fetch(`${c.url}/check`)).status === 200 || undefined, 20_000);
      expect(await destination(c.url, 1)).toMatch(/^https:\/\/example\.com\//);
      expect(count(c.output(), INTERRUPTED)).toBe(1);
      const ready = await scrape();
      expect(ready.value("clicks_ready")).toBe(1);
      expect(ready.value("clicks_links_loaded_timestamp_seconds")).toBeGreaterThan(Date.now() / 1000 - 60);
    } finally {
      await c.kill();
    }
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import postgres from "postgres";
import { parseEvent } from "../support/consumer";
import { DestinationServer } from "../support/destinations";
import { linksCli } from "../support/link-changes";
import { insertLinks } from "../support/links";
import { waitFor } from "../support/ports";
import { PostgresServer } from "../support/postgres";
import { RedisServer } from "../support/redis";
import { click, migrate, type ServiceProcess, spawnService } from "../support/service";

// Two services, a Postgres cluster and Redis start here; checks come once a second.
setDefaultTimeout(60_000);

const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
const CHECKS = "destination checks: this machine checks";
const LOST = "destination checks: this machine stopped checking (lock lost)";
/** How soon after the verdict is written every machine must act on it. */
const PROPAGATION_MS = 3_000;

let pg: PostgresServer;
let databaseUrl: string;
let redis: RedisServer;
const site = new DestinationServer();
const processes: ServiceProcess[] = [];
let a: ServiceProcess;
let b: ServiceProcess;

async function stateOf(url: string): Promise<string | undefined> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<Array<{ state: string }>>`select state from destinations where url = ${url}`;
    return rows[0]?.state;
  } finally {
    await sql.end();
  }
}

/** Where an iPhone's click on link `id` goes. */
async function iphoneGoesTo(service: ServiceProcess, id: number): Promise<string> {
  const response = await click(service.url, `/click/${id}/go`, { headers: { "user-agent": IPHONE } });
  await response.arrayBuffer();
  return response.headers.get("location") ?? String(response.status);
}

async function bothSendTo(id: number, expected: string, within = PROPAGATION_MS): Promise<void> {
  for (const service of [a, b]) {
    await waitFor(
      `${service.url} to send link ${id} to ${expected}`,
      async () => (await iphoneGoesTo(service, id)) === expected || undefined,
      within,
      20,
    );
  }
}

function checkers(): ServiceProcess[] {
  return processes.filter((service) => service.output().includes(CHECKS));
}

/** The machine checking now: it took the lock last and has not lost it since (as during an outage). */
function holder(): ServiceProcess | undefined {
  return processes.find(
    (service) => service.output().lastIndexOf(CHECKS) > service.output().lastIndexOf(LOST),
  );
}

const APP = site.url("/app");
const LANDING = site.url("/landing");

beforeAll(async () => {
  pg = await PostgresServer.start();
  databaseUrl = await pg.createDatabase();
  await migrate(databaseUrl);
  await insertLinks(databaseUrl, [{ id: 1, network: "adnet", targetUrl: { ios: APP, default: LANDING } }]);
  redis = await RedisServer.start();
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL_CLICKSTORE_1: redis.url,
    DESTINATION_CHECK_SECONDS: "1",
  };
  [a, b] = await Promise.all([spawnService(env), spawnService(env)]);
  processes.push(a as ServiceProcess, b as ServiceProcess);
});

afterAll(async () => {
  await Promise.allSettled(processes.map((service) => service.kill()));
  await redis?.stop();
  await pg?.stop();
  site.stop();
});

describe("two machines, one checker", () => {
  test("only one of the two checks: one logs it, and the destinations see one machine's pace", async () => {
    await waitFor("a machine to check", () => checkers().length === 1 || undefined, 10_000);
    await waitFor(
      "both destinations checked",
      () => site.requestsTo("/app").length >= 2 || undefined,
      10_000,
    );
    const from = site.requests.length;
    await Bun.sleep(4_000);
    expect(checkers()).toHaveLength(1);
    // One machine makes at most one request a second to this host (4 or 5 in 4 s); two would make
    // about eight. The pacer's exact spacing is unit-tested in rules.test.ts: here the arrival times
    // also carry both processes' scheduling delays, which reach tens of milliseconds on a busy machine.
    const seen = site.requests.slice(from).map((request) => request.atMs);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < seen.length; i++) {
      expect((seen[i] as number) - (seen[i - 1] as number)).toBeGreaterThanOrEqual(800);
    }
    expect(await iphoneGoesTo(a, 1)).toBe(APP);
    expect(await stateOf(APP)).toBe("alive");
  });

  test("a destination that turns dead reroutes clicks on both machines, events say where they went, and back", async () => {
    site.set("/app", { status: 404 });
    await waitFor("the verdict dead", async () => (await stateOf(APP)) === "dead" || undefined, 15_000, 20);
    await bothSendTo(1, LANDING);

    await redis.clear();
    for (const service of [a, b]) expect(await iphoneGoesTo(service, 1)).toBe(LANDING);
    const events = (await redis.events()).map(parseEvent);
    expect(events).toHaveLength(2);
    for (const event of events) expect(event.params.get("redirect_url")).toBe(LANDING);

    // The CLI lists it with its reason and since when.
    const listed = await linksCli(databaseUrl, "destinations");
    expect(listed).toMatch(new RegExp(`^dead\\t\\d{4}-\\d\\d-\\d\\dT[^\\t]+\\t404\\t${APP}$`, "m"));

    site.set("/app", { status: 200 });
    await waitFor("the verdict alive", async () => (await stateOf(APP)) === "alive" || undefined, 10_000, 20);
    await bothSendTo(1, APP);
    expect(await linksCli(databaseUrl, "destinations")).toBe("");
  });

  test("PostgreSQL down: the last known states stay in force on both machines", async () => {
    site.set("/app", { status: 404 });
    await waitFor("the verdict dead", async () => (await stateOf(APP)) === "dead" || undefined, 15_000, 20);
    await bothSendTo(1, LANDING);
    await pg.stop();
    // The destination is back, but nobody can write its verdict: what is known holds.
    site.set("/app", { status: 200 });
    await Bun.sleep(3_000);
    for (const service of [a, b]) expect(await iphoneGoesTo(service, 1)).toBe(LANDING);

    await pg.start();
    await waitFor(
      "the verdict alive",
      async () => (await stateOf(APP)) === "alive" || undefined,
      20_000,
      100,
    );
    await bothSendTo(1, APP, 10_000);
  });

  test("the other machine takes over when the checker stops", async () => {
    const first = await waitFor("the machine checking now", holder, 10_000);
    const other = first === a ? b : a;
    const before = other.output().split(CHECKS).length;
    await first.kill();
    processes.splice(processes.indexOf(first), 1);
    const stoppedAt = Date.now();
    // Its lock connection may still be the one Postgres's restart above left unanswered: that one is
    // given up after the lock query's timeout (6 s), then the next ask (1 s) takes the lock.
    await waitFor(
      "the other to check",
      () => other.output().split(CHECKS).length > before || undefined,
      20_000,
    );
    await waitFor(
      "checks to go on",
      () => site.requests.some((request) => request.atMs > stoppedAt) || undefined,
      10_000,
    );
    site.set("/app", { status: 410 });
    await waitFor("the verdict dead", async () => (await stateOf(APP)) === "dead" || undefined, 15_000, 20);
    await waitFor(
      "rerouted",
      async () => (await iphoneGoesTo(other, 1)) === LANDING || undefined,
      PROPAGATION_MS,
      20,
    );
  });
});

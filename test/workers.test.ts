import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { nodeLabel } from "../src/clickstore/clickstore";
import { workerNumber } from "../src/workers";
import { databaseWithLink, LINK_ID, logLines, serviceOn } from "./support/faults";
import { Scrape } from "./support/metrics";
import { freePort, waitFor } from "./support/ports";
import { v2Inet } from "./support/proxy-protocol";
import { RedisServer } from "./support/redis";
import { click, runCommand, type ServiceProcess, tempDir } from "./support/service";
import { servedFingerprint, TestCa } from "./support/tls";

// Real redis-server, PostgreSQL and three service processes per test.
setDefaultTimeout(60_000);

let database: string;
let redis: RedisServer;

beforeAll(async () => {
  database = await databaseWithLink();
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis?.stop();
});

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The service with WORKERS=2 (and `env`), once both workers listen. */
async function bothListening(spool: string, env: Record<string, string>): Promise<ServiceProcess> {
  const service = await serviceOn(database, [redis], spool, { WORKERS: "2", ...env });
  await waitFor(
    "both workers listening",
    () =>
      logLines(service.output()).filter((line) => line.msg === "clicks is listening").length === 2 ||
      undefined,
    30_000,
  );
  return service;
}

/** Two workers that log each click, with their pids from the primary's log. */
async function twoWorkers(
  spool: string,
  env: Record<string, string> = {},
): Promise<{ service: ServiceProcess; pids: number[] }> {
  const service = await bothListening(spool, { LOG_LEVEL: "debug", ...env });
  const started = logLines(service.output()).find((line) => line.msg === "workers started");
  return { service, pids: (started?.pids ?? []) as number[] };
}

describe("workerNumber", () => {
  test("a worker is started with --worker <n>; the primary and a single process have none", () => {
    expect(workerNumber(["bun", "src/main.ts", "--worker", "2"])).toBe(2);
    expect(workerNumber(["bun", "src/main.ts"])).toBeUndefined();
    expect(workerNumber(["bun", "src/main.ts", "--worker", "x"])).toBeUndefined();
  });
});

describe("WORKERS=2", () => {
  test("two processes answer on one port, each click is stored once, each worker spools apart; SIGTERM ends them all", async () => {
    await redis.clear();
    const spool = tempDir();
    const { service, pids } = await twoWorkers(spool);
    expect(pids).toHaveLength(2);

    // A connection of its own per click, so that the kernel spreads them over both workers.
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, n) =>
        click(service.url, `/click/${LINK_ID}/go?click=${n}`, {
          headers: { connection: "close" },
          keepalive: false,
        }),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array.from({ length: 200 }, () => 307));
    const clicks = (await redis.events()).map((event) => /[?&]?click=(\d+)&/.exec(event)?.[1]);
    expect(new Set(clicks).size).toBe(200);
    expect(clicks).toHaveLength(200);

    const servedBy = new Set(
      logLines(service.output())
        .filter((line) => line.msg === "click")
        .map((line) => line.worker),
    );
    expect([...servedBy].sort()).toEqual([1, 2]);
    expect(existsSync(join(spool, "worker-1"))).toBe(true);
    expect(existsSync(join(spool, "worker-2"))).toBe(true);

    expect(await service.kill("SIGTERM")).toBe(0);
    for (const pid of pids) expect(running(pid)).toBe(false);
  });

  test("with TLS behind the PROXY front, both workers bind HTTPS_PORT and answer through it", async () => {
    const ca = TestCa.create();
    const certificate = ca.issue("localhost");
    const httpsPort = freePort();
    const service = await bothListening(tempDir(), {
      TLS_CERT_FILE: certificate.certFile,
      TLS_KEY_FILE: certificate.keyFile,
      HTTPS_PORT: String(httpsPort),
      PROXY_PROTOCOL: "v2",
    });
    const header = v2Inet([203, 0, 113, 7], [127, 0, 0, 1]);
    for (let n = 0; n < 4; n++) {
      expect(await servedFingerprint(httpsPort, ca.pem, header)).toBe(certificate.fingerprint);
    }
    expect(await service.kill("SIGTERM")).toBe(0);
  });

  test("one scrape of METRICS_PORT, served by the primary, counts the clicks of both workers exactly", async () => {
    await redis.clear();
    const metricsPort = freePort();
    const { service, pids } = await twoWorkers(tempDir(), { METRICS_PORT: String(metricsPort) });
    const clicks = 200;
    for (let n = 0; n < clicks; n++) {
      const response = await click(service.url, `/click/${LINK_ID}/go?click=${n}`, {
        headers: { connection: "close" },
        keepalive: false,
      });
      expect(response.status).toBe(307);
    }
    const perWorker = new Map<unknown, number>();
    for (const line of logLines(service.output()).filter((line) => line.msg === "click")) {
      perWorker.set(line.worker, (perWorker.get(line.worker) ?? 0) + 1);
    }
    // Both served some: a sum that matched one worker's count alone would prove nothing.
    expect([...perWorker.keys()].sort()).toEqual([1, 2]);
    for (const count of perWorker.values()) expect(count).toBeLessThan(clicks);

    const scrape = await Scrape.of(await fetch(`http://127.0.0.1:${metricsPort}/metrics`));
    const redirected = Object.entries(scrape.nonZero("clicks_total"))
      .filter(([labels]) => labels.includes('outcome="redirected"'))
      .reduce((sum, [, value]) => sum + value, 0);
    expect(redirected).toBe(clicks);
    const node = nodeLabel(redis.url);
    expect(scrape.nonZero("clicks_clickstore_pushes_total")).toEqual({
      [`{node="${node}",result="ok"}`]: clicks,
    });
    expect(scrape.value("clicks_clickstore_push_duration_seconds_count", { node })).toBe(clicks);
    expect(scrape.value("clicks_clickstore_push_duration_seconds_bucket", { node, le: "+Inf" })).toBe(clicks);
    // Gauges that are not a sum: every worker holds the one link, and is connected.
    expect(scrape.value("clicks_link_cache_links")).toBe(1);
    expect(scrape.value("clicks_clickstore_connected", { node })).toBe(1);

    // A worker that cannot answer: no partial sum, which would look like counters going back.
    process.kill(pids[1] as number, "SIGSTOP");
    try {
      const stuck = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(stuck.status).toBe(503);
      expect(await stuck.text()).toBe("worker 2 did not answer");
    } finally {
      process.kill(pids[1] as number, "SIGCONT");
    }
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
    expect(await service.kill("SIGTERM")).toBe(0);
  });

  test("a METRICS_PORT already taken stops the primary before any worker starts", async () => {
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const { code, stdout } = await runCommand(["bun", "src/main.ts"], {
        DATABASE_URL: database,
        HOST: "127.0.0.1",
        PORT: String(freePort()),
        WORKERS: "2",
        METRICS_PORT: String(taken.port),
      });
      expect(code).toBe(1);
      expect(logLines(stdout).map((line) => line.msg)).toEqual(["METRICS_PORT could not be opened"]);
    } finally {
      taken.stop(true);
    }
  });

  test("a worker that dies stops the other, and the primary exits 1", async () => {
    const { service, pids } = await twoWorkers(tempDir());
    process.kill(pids[0] as number, "SIGKILL");
    expect(await service.process.exited).toBe(1);
    await waitFor("the other worker to end", () => !running(pids[1] as number) || undefined);
    expect(service.output()).toContain("a worker ended: stopping the others");
  });
});

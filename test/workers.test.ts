import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { workerNumber } from "../src/workers";
import { databaseWithLink, LINK_ID, logLines, serviceOn } from "./support/faults";
import { freePort, waitFor } from "./support/ports";
import { v2Inet } from "./support/proxy-protocol";
import { RedisServer } from "./support/redis";
import { click, type ServiceProcess, tempDir } from "./support/service";
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
async function twoWorkers(spool: string): Promise<{ service: ServiceProcess; pids: number[] }> {
  const service = await bothListening(spool, { LOG_LEVEL: "debug" });
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

  test("a worker that dies stops the other, and the primary exits 1", async () => {
    const { service, pids } = await twoWorkers(tempDir());
    process.kill(pids[0] as number, "SIGKILL");
    expect(await service.process.exited).toBe(1);
    await waitFor("the other worker to end", () => !running(pids[1] as number) || undefined);
    expect(service.output()).toContain("a worker ended: stopping the others");
  });
});

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import net from "node:net";
import { join } from "node:path";
import { openPostgres } from "../../src/db/database";
import { RelayClients, startProxyFront } from "../../src/http/proxy-protocol/front";
import { createLinkRepository } from "../../src/links/repository";
import { createLogger } from "../../src/logger";
import type { RunningService } from "../../src/server";
import {
  databaseWithLink,
  health,
  LINK_ID,
  logLines,
  serviceOn,
  waitForDrainedSpool,
} from "../support/faults";
import { startLoad } from "../support/load";
import { freePort, waitFor } from "../support/ports";
import { sharedPostgres } from "../support/postgres";
import { get, proxiedRequest, v2Inet } from "../support/proxy-protocol";
import { RedisServer } from "../support/redis";
import { LogLines, migrate, startTestService, tempDir } from "../support/service";
import { TestCa } from "../support/tls";

// A service on real PostgreSQL and Redis, TCP connections over loopback.
setDefaultTimeout(30_000);

const ca = TestCa.create();
const pair = ca.issue("localhost");
const HEADER = v2Inet([198, 51, 100, 23], [172, 16, 0, 2]);
const silent = createLogger("silent");

/**
 * What a TCP health check sees: "refused" when the connection attempt fails, "closed" when it is
 * closed before any byte came, "open" when it stays open (for 200 ms, longer than a PROXY front
 * takes to close a connection it does not want).
 */
function tcpCheck(port: number): Promise<"refused" | "closed" | "open"> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let connected = false;
    socket.once("connect", () => {
      connected = true;
      setTimeout(() => {
        resolve("open");
        socket.destroy();
      }, 200);
    });
    socket.once("data", () => resolve("open"));
    socket.once("error", () => resolve(connected ? "closed" : "refused"));
    socket.once("close", () => resolve(connected ? "closed" : "refused"));
  });
}

describe("behind the PROXY front, HTTPS_PORT is closed while the machine is not ready", () => {
  let redis: RedisServer;
  let service: RunningService;
  let databaseUrl: string;
  let httpsPort: number;
  const logs = new LogLines();

  beforeAll(async () => {
    redis = await RedisServer.start();
    // Not migrated: the links cannot load, /check answers 503.
    databaseUrl = await (await sharedPostgres()).createDatabase();
    httpsPort = freePort();
    service = await startTestService(
      {
        DATABASE_URL: databaseUrl,
        REDIS_URL_CLICKSTORE_1: redis.url,
        TLS_CERT_FILE: pair.certFile,
        TLS_KEY_FILE: pair.keyFile,
        HTTPS_PORT: String(httpsPort),
        PROXY_PROTOCOL: "v2",
      },
      logs,
    );
  });

  afterAll(async () => {
    await service?.stop();
    await redis?.stop();
  });

  test("not ready: a TCP connect is refused while /check answers 503 on the HTTP port; ready: TLS and a click go through", async () => {
    expect((await fetch(`${service.url}/check`)).status).toBe(503);
    expect(await tcpCheck(httpsPort)).toBe("refused");
    // Still refused a few gate rounds later: the gate follows readiness, not a timer.
    await Bun.sleep(2_500);
    expect(await tcpCheck(httpsPort)).toBe("refused");
    expect((await fetch(`${service.url}/check`)).status).toBe(503);

    await migrate(databaseUrl);
    const database = openPostgres(databaseUrl);
    try {
      await createLinkRepository(database.db).upsert({
        id: 7,
        targetUrl: { default: "https://example.com/seven" },
      });
    } finally {
      await database.close();
    }
    await waitFor(
      "/check 200",
      async () => (await fetch(`${service.url}/check`)).status === 200 || undefined,
    );
    await waitFor("HTTPS_PORT open", async () => (await tcpCheck(httpsPort)) === "open" || undefined);

    const [response] = await proxiedRequest(httpsPort, HEADER, ca.pem, [get("/click/7/go")]);
    expect(response?.status).toBe(307);
    expect(response?.text).toContain("Location: https://example.com/seven\r\n");
    expect(await waitFor("the click's event", async () => (await redis.events())[0])).toContain(
      "198.51.100.23",
    );

    const messages = logs.entries().map((entry) => entry.msg);
    expect(
      messages.filter((msg) => msg === "not ready: HTTPS_PORT refuses connections until it is"),
    ).toHaveLength(1);
    expect(messages.filter((msg) => msg === "ready: HTTPS_PORT accepts connections again")).toHaveLength(1);
  });
});

describe("a ready machine that can no longer keep a click", () => {
  test("closes HTTPS_PORT while neither Redis nor the spool can take one, and opens it once the spool drained", async () => {
    const databaseUrl = await databaseWithLink();
    const node = await RedisServer.start();
    const httpsPort = freePort();
    const service = await serviceOn(databaseUrl, [node], join(tempDir(), "spool"), {
      SPOOL_MAX_BYTES: String(16 * 1024),
      REDIS_BREAKER_PROBE_MS: "100",
      REDIS_BREAKER_PROBE_MAX_MS: "200",
      TLS_CERT_FILE: pair.certFile,
      TLS_KEY_FILE: pair.keyFile,
      HTTPS_PORT: String(httpsPort),
      PROXY_PROTOCOL: "v2",
    });
    try {
      expect(await tcpCheck(httpsPort)).toBe("open");
      await node.stop();
      // Enough clicks to fill a 16 KiB spool.
      await startLoad({ base: service.url, linkId: LINK_ID, count: 60, concurrency: 3 }).done;
      expect((await health(service.url)).status).toBe(503);
      await waitFor("HTTPS_PORT closed", async () => (await tcpCheck(httpsPort)) === "refused" || undefined);

      await node.start();
      await waitForDrainedSpool(service.url);
      await waitFor("HTTPS_PORT open", async () => (await tcpCheck(httpsPort)) === "open" || undefined);
      const [response] = await proxiedRequest(httpsPort, HEADER, ca.pem, [get(`/click/${LINK_ID}/go`)]);
      expect(response?.status).toBe(307);
      const messages = logLines(service.output()).map((line) => line.msg);
      expect(
        messages.filter((msg) => msg === "not ready: HTTPS_PORT refuses connections until it is"),
      ).toHaveLength(1);
      expect(messages.filter((msg) => msg === "ready: HTTPS_PORT accepts connections again")).toHaveLength(1);
    } finally {
      await service.kill("SIGTERM");
      await node.stop();
    }
  });
});

describe("the PROXY front's port follows readiness", () => {
  /** A v2 front on loopback; by default on a port of its own, relaying to nothing (no header is sent). */
  const front = ({ port = 0, target = freePort(), reusePort = false } = {}) =>
    startProxyFront({
      hostname: "127.0.0.1",
      port,
      version: "v2",
      target: { port: target, clients: new RelayClients() },
      logger: silent,
      reusePort,
    });

  test("closed: refused; open again on the same port; a relayed connection outlives the closing", async () => {
    // The relay target: a plain TCP echo standing in for the TLS server.
    const echo = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: (socket, data) => void socket.write(data) },
    });
    const relaying = front({ target: echo.port });
    try {
      const relayed = net.connect(relaying.port, "127.0.0.1");
      await new Promise((resolve) => relayed.once("connect", resolve));
      relayed.write(HEADER);
      const echoed = (text: string) =>
        new Promise<string>((resolve) => {
          relayed.once("data", (data) => resolve(data.toString()));
          relayed.write(text);
        });
      expect(await echoed("before")).toBe("before");

      expect(relaying.accepting(false)).toBe(true);
      expect(await tcpCheck(relaying.port)).toBe("refused");
      expect(await echoed("while closed")).toBe("while closed");

      expect(relaying.accepting(true)).toBe(true);
      expect(await tcpCheck(relaying.port)).toBe("open");
      relayed.destroy();
    } finally {
      relaying.stopAccepting();
      relaying.closeAll();
      echo.stop(true);
    }
  });

  test("WORKERS>1 (SO_REUSEPORT): the port is refused only once every worker's front is closed", async () => {
    const port = freePort();
    const first = front({ port, reusePort: true });
    const second = front({ port, reusePort: true });
    try {
      first.accepting(false);
      // The kernel hands every connection to the front still listening.
      for (let n = 0; n < 10; n++) expect(await tcpCheck(port)).toBe("open");
      second.accepting(false);
      expect(await tcpCheck(port)).toBe("refused");
      expect(first.accepting(true)).toBe(true);
      for (let n = 0; n < 10; n++) expect(await tcpCheck(port)).toBe("open");
    } finally {
      first.stopAccepting();
      second.stopAccepting();
    }
  });

  test("a port taken by another process while closed: reopening fails until it is free again", async () => {
    const closed = front();
    try {
      closed.accepting(false);
      const squatter = Bun.listen({ hostname: "127.0.0.1", port: closed.port, socket: { data() {} } });
      expect(closed.accepting(true)).toBe(false);
      squatter.stop(true);
      expect(closed.accepting(true)).toBe(true);
      expect(await tcpCheck(closed.port)).toBe("open");
    } finally {
      closed.stopAccepting();
    }
  });

  test("after the service stopped accepting for good, readiness does not open the port again", async () => {
    const stopped = front();
    stopped.stopAccepting();
    stopped.accepting(true);
    expect(await tcpCheck(stopped.port)).toBe("refused");
  });
});

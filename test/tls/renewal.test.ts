import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, renameSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import type { RunningService } from "../../src/server";
import { parseEvent } from "../support/consumer";
import { databaseWithLinks } from "../support/links";
import { freePort, waitFor } from "../support/ports";
import { get, proxiedRequest, requestsOver, v2Inet } from "../support/proxy-protocol";
import { RedisServer } from "../support/redis";
import { click, spawnService, startTestService, tempDir } from "../support/service";
import { servedFingerprint, TestCa } from "../support/tls";

// Services start on real databases on a machine shared with other work: give them time.
setDefaultTimeout(30_000);

const ca = TestCa.create();
const first = ca.issue("first");
const second = ca.issue("second");
const third = ca.issue("third");
const stranger = ca.issue("stranger");
const trusting: BunFetchRequestInit = { tls: { ca: ca.pem } };

let redis: RedisServer;
let databaseUrl: string;

beforeAll(async () => {
  redis = await RedisServer.start();
  databaseUrl = await databaseWithLinks([{ id: 3, targetUrl: { default: "https://example.com/three" } }]);
});

afterAll(() => redis?.stop());

/** The files the service reads, replaced the way renewal tools do: write aside, then rename. */
function installer(dir: string) {
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  return {
    certFile,
    keyFile,
    install(pair: { certFile: string; keyFile: string }) {
      copyFileSync(pair.keyFile, `${keyFile}.new`);
      copyFileSync(pair.certFile, `${certFile}.new`);
      renameSync(`${keyFile}.new`, keyFile);
      renameSync(`${certFile}.new`, certFile);
    },
  };
}

/** A TLS connection with half a request sent: opened before the renewal, finished after it. */
async function openConnection(port: number, proxyHeader: Uint8Array | undefined) {
  let socket: tls.TLSSocket;
  if (proxyHeader) {
    const raw = net.connect(port, "127.0.0.1");
    await new Promise((resolve) => raw.once("connect", resolve));
    raw.write(proxyHeader);
    socket = tls.connect({ socket: raw, ca: ca.pem, servername: "localhost" });
  } else {
    socket = tls.connect({ host: "127.0.0.1", port, ca: ca.pem, servername: "localhost" });
  }
  await new Promise((resolve, reject) => {
    socket.once("secureConnect", resolve);
    socket.once("error", reject);
  });
  let received = "";
  socket.on("data", (chunk) => {
    received += chunk;
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.write("GET /click/3/go?click=before-renewal HTTP/1.1\r\nhost: localhost\r\n");
  return {
    fingerprint: socket.getPeerCertificate().fingerprint256,
    async finish(): Promise<string> {
      socket.write("connection: close\r\n\r\n");
      await closed;
      return received;
    },
  };
}

async function clicksStored(): Promise<string[]> {
  const events = await redis.events();
  return events.map((line) => parseEvent(line).params.get("click") ?? "");
}

const modes: Array<[string, Record<string, string>, Uint8Array | undefined]> = [
  ["TLS straight on HTTPS_PORT", {}, undefined],
  ["TLS behind the PROXY v2 front", { PROXY_PROTOCOL: "v2" }, v2Inet([198, 51, 100, 1], [10, 0, 0, 1])],
];

for (const [mode, env, proxyHeader] of modes) {
  describe(`renewal without a restart: ${mode}`, () => {
    const files = installer(tempDir());
    let service: RunningService;
    let port: number;

    beforeAll(async () => {
      files.install(first);
      service = await startTestService({
        ...env,
        DATABASE_URL: databaseUrl,
        REDIS_URL_CLICKSTORE_1: redis.url,
        TLS_CERT_FILE: files.certFile,
        TLS_KEY_FILE: files.keyFile,
        HTTPS_PORT: String(freePort()),
      });
      port = Number(new URL(service.httpsUrl as string).port);
    });

    afterAll(() => service?.stop());

    // Without the front, a connection made at the instant of the swap can still meet the old
    // listener (see the deploy doc): new connections are asked until one sees the pair.
    const serving = (pair: { fingerprint: string }) =>
      waitFor(`${pair.fingerprint} served`, async () =>
        (await servedFingerprint(port, ca.pem, proxyHeader)) === pair.fingerprint ? true : undefined,
      );

    test("changed files are picked up; a connection opened before still gets its answer", async () => {
      await redis.clear();
      expect(await servedFingerprint(port, ca.pem, proxyHeader)).toBe(first.fingerprint);
      const before = await openConnection(port, proxyHeader);
      expect(before.fingerprint).toBe(first.fingerprint);

      files.install(second);
      await serving(second);

      const answer = await before.finish();
      expect(answer).toStartWith("HTTP/1.1 307 ");
      expect(answer).toMatch(/\r\nlocation: https:\/\/example\.com\/three\r\n/i);
      const after = proxyHeader
        ? (await proxiedRequest(port, proxyHeader, ca.pem, [get("/click/3/go?click=after-renewal")]))[0]
            ?.status
        : (await click(`https://localhost:${port}`, "/click/3/go?click=after-renewal", trusting)).status;
      expect(after).toBe(307);
      expect((await clicksStored()).sort()).toEqual(["after-renewal", "before-renewal"]);
    });

    // Behind the front only: on a bare SO_REUSEPORT swap, Linux resets the connections still in
    // the old listener's accept queue unless net.ipv4.tcp_migrate_req=1 (the service warns at start).
    if (proxyHeader !== undefined) {
      test("clicks on new connections while the certificate is renewed all get their answer", async () => {
        await redis.clear();
        let renewedAt: number | undefined;
        let answered = 0;
        const failures: string[] = [];
        const worker = async () => {
          // Until shortly after the renewal, bounded in count whatever happens.
          for (let clicks = 0; clicks < 200; clicks++) {
            if (renewedAt !== undefined && performance.now() > renewedAt + 300) return;
            try {
              const [response] = await proxiedRequest(port, proxyHeader ?? "", ca.pem, [
                get("/click/3/go?click=during"),
              ]);
              if (response?.status === 307) answered += 1;
              else failures.push(`status ${response?.status}`);
            } catch (error) {
              failures.push(String(error));
            }
          }
        };
        const load = Promise.all(Array.from({ length: 4 }, worker));
        await waitFor("some clicks before the renewal", () => (answered >= 20 ? true : undefined));
        files.install(first);
        expect(service.reloadTls()).toBe("renewed");
        renewedAt = performance.now();
        await load;
        expect(failures).toEqual([]);
        expect(await servedFingerprint(port, ca.pem, proxyHeader)).toBe(first.fingerprint);
        expect(await redis.events()).toHaveLength(answered);
      });

      test("a client still in its TLS handshake when the renewal comes finishes it and is answered", async () => {
        await redis.clear();
        const raw = net.connect(port, "127.0.0.1");
        await new Promise((resolve) => raw.once("connect", resolve));
        raw.write(proxyHeader);
        // The front has relayed the connection to the current TLS server; the client is slow.
        await Bun.sleep(100);
        files.install(second);
        expect(service.reloadTls()).toBe("renewed");
        await serving(second);
        await Bun.sleep(500);
        const [response] = await requestsOver(raw, ca.pem, [get("/click/3/go?click=slow-handshake")]);
        expect(response?.status).toBe(307);
        expect(await clicksStored()).toEqual(["slow-handshake"]);
      });
    }

    test("SIGHUP's reload: unchanged files change nothing; a new pair is served", async () => {
      expect(service.reloadTls()).toBe("unchanged");
      files.install(third);
      expect(service.reloadTls()).toBe("renewed");
      await serving(third);
    });

    test("a broken renewal keeps the current certificate; the fixed one is then served", async () => {
      files.install({ certFile: second.certFile, keyFile: stranger.keyFile });
      expect(service.reloadTls()).toBe("failed");
      expect(await servedFingerprint(port, ca.pem, proxyHeader)).toBe(third.fingerprint);
      files.install(second);
      expect(service.reloadTls()).toBe("renewed");
      await serving(second);
    });
  });
}

test("the service process reloads its certificate on SIGHUP and keeps running", async () => {
  const files = installer(tempDir());
  files.install(first);
  const httpsPort = freePort();
  const service = await spawnService({
    TLS_CERT_FILE: files.certFile,
    TLS_KEY_FILE: files.keyFile,
    HTTPS_PORT: String(httpsPort),
  });
  try {
    // An answer means main.ts got past its start and installed its signal handlers.
    expect((await click(service.url, "/check")).status).toBe(200);
    service.process.kill("SIGHUP");
    await waitFor("the reload log line", () =>
      service.output().includes('"tls":"unchanged"') ? true : undefined,
    );
    expect(await servedFingerprint(httpsPort, ca.pem)).toBe(first.fingerprint);
    expect(service.process.exitCode).toBeNull();
  } finally {
    expect(await service.kill("SIGTERM")).toBe(0);
  }
});

import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import net from "node:net";
import type { RunningService } from "../../src/server";
import { parseEvent } from "../support/consumer";
import { databaseWithLinks } from "../support/links";
import { freePort, waitFor } from "../support/ports";
import { get, proxiedRequest, v1Header, v2Header, v2Inet, v2Inet6 } from "../support/proxy-protocol";
import { RedisServer } from "../support/redis";
import { startTestService } from "../support/service";
import { TestCa } from "../support/tls";

// Services start on real databases on a machine shared with other work: give them time.
setDefaultTimeout(30_000);

const ca = TestCa.create();
const pair = ca.issue("clicks-front");
const CLIENT_V4 = [198, 51, 100, 23];
const CLIENT_V6 = [0x26, 0x00, 0x1f, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b];
const FLY_EDGE = [172, 16, 0, 2];

let redis: RedisServer;
let v1: RunningService;
let v2: RunningService;
const port = (service: RunningService) => Number(new URL(service.httpsUrl as string).port);

beforeAll(async () => {
  redis = await RedisServer.start();
  const databaseUrl = await databaseWithLinks([
    { id: 7, targetUrl: { default: "https://example.com/seven" } },
  ]);
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL_CLICKSTORE_1: redis.url,
    TLS_CERT_FILE: pair.certFile,
    TLS_KEY_FILE: pair.keyFile,
    // Headers must not count behind the front, whatever TRUST_PROXY says.
    TRUST_PROXY: "xff",
  };
  v1 = await startTestService({ ...env, HTTPS_PORT: String(freePort()), PROXY_PROTOCOL: "v1" });
  v2 = await startTestService({ ...env, HTTPS_PORT: String(freePort()), PROXY_PROTOCOL: "v2" });
});

afterAll(async () => {
  await Promise.all([v1?.stop(), v2?.stop()]);
  await redis?.stop();
});

beforeEach(() => redis.clear());

async function eventIps(count: number): Promise<string[]> {
  const events = await waitFor(`${count} events`, async () => {
    const found = await redis.events();
    return found.length >= count ? found : undefined;
  });
  expect(events).toHaveLength(count);
  return events.map((line) => parseEvent(line).ip);
}

describe("the PROXY header's source address is the click's ip", () => {
  const cases: Array<[string, () => RunningService, Uint8Array | string, string]> = [
    ["v2 IPv4", () => v2, v2Inet(CLIENT_V4, FLY_EDGE), "198.51.100.23"],
    ["v2 IPv6", () => v2, v2Inet6(CLIENT_V6, CLIENT_V6), "2600:1f18::b"],
    ["v1 IPv4", () => v1, v1Header("TCP4", "198.51.100.23", "172.16.0.2"), "198.51.100.23"],
    ["v1 IPv6", () => v1, v1Header("TCP6", "2600:1F18:0:0:0:0:0:B", "fdaa::2"), "2600:1f18::b"],
  ];
  for (const [name, service, header, ip] of cases) {
    test(name, async () => {
      const responses = await proxiedRequest(port(service()), header, ca.pem, [
        get("/click/7/go?click=proxied", { "x-forwarded-for": "192.0.2.99" }),
      ]);
      expect(responses.map((response) => response.status)).toEqual([307]);
      expect(responses[0]?.text).toMatch(/\r\nlocation: https:\/\/example.com\/seven\r\n/i);
      expect(await eventIps(1)).toEqual([ip]);
    });
  }

  test("every request of a kept-alive connection has its connection's address", async () => {
    const [first, second] = await Promise.all([
      proxiedRequest(port(v2), v2Inet(CLIENT_V4, FLY_EDGE), ca.pem, [
        get("/click/7/go", {}, false),
        get("/click/7/go"),
      ]),
      proxiedRequest(port(v2), v2Inet([203, 0, 113, 5], FLY_EDGE), ca.pem, [
        get("/click/7/go", {}, false),
        get("/click/7/go"),
      ]),
    ]);
    expect([...(first ?? []), ...(second ?? [])].map((response) => response.status)).toEqual([
      307, 307, 307, 307,
    ]);
    expect((await eventIps(4)).sort()).toEqual([
      "198.51.100.23",
      "198.51.100.23",
      "203.0.113.5",
      "203.0.113.5",
    ]);
  });

  test("a header that arrives in pieces", async () => {
    const responses = await proxiedRequest(
      port(v2),
      v2Inet6(CLIENT_V6, CLIENT_V6),
      ca.pem,
      [get("/click/7/go")],
      {
        pieces: 5,
      },
    );
    expect(responses.map((response) => response.status)).toEqual([307]);
    expect(await eventIps(1)).toEqual(["2600:1f18::b"]);
  });

  test("a LOCAL header (the proxy's own health check) gives the connection's own peer", async () => {
    const responses = await proxiedRequest(
      port(v2),
      v2Header({ command: 0, family: 0, transport: 0 }),
      ca.pem,
      [get("/click/7/go")],
    );
    expect(responses.map((response) => response.status)).toEqual([307]);
    expect(await eventIps(1)).toEqual(["127.0.0.1"]);
  });
});

describe("a connection without a valid header is closed, and no event is written", () => {
  const cases: Array<[string, () => RunningService, Uint8Array | string]> = [
    ["no header at all (TLS straight away)", () => v2, ""],
    ["a v1 header where v2 is expected", () => v2, v1Header("TCP4", "198.51.100.23", "172.16.0.2")],
    ["a v2 header where v1 is expected", () => v1, v2Inet(CLIENT_V4, FLY_EDGE)],
    ["a broken v2 header", () => v2, v2Header({ version: 1, addresses: new Array(12).fill(0) })],
    ["a v1 header with a bad address", () => v1, "PROXY TCP4 198.51.100.256 172.16.0.2 1 2\r\n"],
  ];
  for (const [name, service, header] of cases) {
    test(name, async () => {
      await expect(proxiedRequest(port(service()), header, ca.pem, [get("/click/7/go")])).rejects.toThrow();
      // A click through the front right after: had the bad one been served, its event would be first.
      const good = await proxiedRequest(port(v2), v2Inet(CLIENT_V4, FLY_EDGE), ca.pem, [get("/click/7/go")]);
      expect(good.map((response) => response.status)).toEqual([307]);
      expect(await eventIps(1)).toEqual(["198.51.100.23"]);
    });
  }

  test("a connection that sends nothing is closed after the header timeout", async () => {
    const socket = net.connect(port(v2), "127.0.0.1");
    const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
    const opened = Date.now();
    expect((await closed) - opened).toBeGreaterThanOrEqual(4_000);
  });
});

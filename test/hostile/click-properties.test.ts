import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { isIP } from "node:net";
import fc from "fast-check";
import { CLICK_QUEUE } from "../../src/clickstore/clickstore";
import type { RunningService } from "../../src/server";
import { eventProblems, parseEvent } from "../support/consumer";
import {
  type ClickBackends,
  expectedQueryFields,
  formQuery,
  HOSTILE_LINK,
  queryFieldsOf,
  startClickBackends,
  wellFormedPairs,
} from "../support/hostile";
import { rawGet, rawRequest } from "../support/raw-http";
import { startTestService } from "../support/service";

// Properties of the click over real HTTP (raw sockets, so every byte is the test's choice),
// with a real redis-server and PostgreSQL behind it.
const SEED = 23;
const PEER = "127.0.0.1";

let backends: ClickBackends;
const services = new Map<string, RunningService>();

beforeAll(async () => {
  backends = await startClickBackends();
  for (const trustProxy of ["off", "fly", "xff"]) {
    services.set(
      trustProxy,
      await startTestService({
        DATABASE_URL: backends.databaseUrl,
        REDIS_URL_CLICKSTORE_1: backends.redis.url,
        TRUST_PROXY: trustProxy,
      }),
    );
  }
}, 30_000);

afterAll(async () => {
  await Promise.all([...services.values()].map((service) => service.stop()));
  await backends?.stop();
});

function portOf(trustProxy: string): number {
  const service = services.get(trustProxy);
  if (!service) throw new Error(`no service with TRUST_PROXY=${trustProxy}`);
  return service.server.port as number;
}

/** Clicks the hostile link and returns the one event it wrote (failing when it wrote another number). */
async function clickOnce(
  port: number,
  query: string,
  headers: Array<[string, string]> = [],
): Promise<string> {
  const response = await rawRequest(port, rawGet(`/click/${HOSTILE_LINK.id}/go?${query}`, headers));
  const events = (await backends.redis.client().lpop(CLICK_QUEUE, 10)) ?? [];
  expect(response.status).toBe(307);
  expect(events).toHaveLength(1);
  const [event] = events as [string];
  expect(eventProblems(event)).toEqual([]);
  return event;
}

test("well-formed parameters from every Unicode plane reach the event unchanged", async () => {
  const port = portOf("off");
  await fc.assert(
    fc.asyncProperty(wellFormedPairs, async (pairs) => {
      const event = await clickOnce(port, formQuery(pairs));
      expect(queryFieldsOf(event)).toEqual(expectedQueryFields(pairs));
    }),
    { seed: SEED, numRuns: 150 },
  );
}, 60_000);

describe("the ip field", () => {
  /** A claimed client address: one that parses as an IP, or junk that must never be believed. */
  const address = fc.oneof(fc.ipV4(), fc.ipV6());
  const junk = fc
    .oneof(
      fc.constantFrom("", "unknown", "1.2.3.256", "01.2.3.4", "1.2.3", "::g", "[::1]", "_", "0x7f.0.0.1"),
      fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([ip, port]) => `${ip}:${port}`),
      fc.tuple(fc.ipV4(), fc.ipV4()).map(([a, b]) => `${a} ${b}`),
      fc.ipV4().map((ip) => `${ip}x`),
      fc.string({ unit: fc.constantFrom("1", ".", ":", "a", "f", "%", "[", "]", " ", "z"), maxLength: 20 }),
    )
    .filter((value) => isIP(value.trim()) === 0);
  const claim = fc.oneof(address, junk);
  const spaced = (value: fc.Arbitrary<string>) =>
    fc
      .tuple(value, fc.constantFrom("", " ", "\t"), fc.constantFrom("", " "))
      .map(([v, a, b]) => `${a}${v}${b}`);

  /** The proxy headers of one request: zero to two lines of each, a line of X-Forwarded-For a list. */
  const proxyHeaders = fc.record({
    fly: fc.array(spaced(claim), { maxLength: 2 }),
    xff: fc.array(fc.array(spaced(claim), { minLength: 1, maxLength: 3 }), { maxLength: 2 }),
  });

  type Proxied = { fly: string[]; xff: string[][] };
  const headerLines = ({ fly, xff }: Proxied): Array<[string, string]> => [
    ...fly.map((value): [string, string] => ["Fly-Client-IP", value]),
    ...xff.map((list): [string, string] => ["X-Forwarded-For", list.join(",")]),
  ];

  /** The rules, stated independently of the code: which claim is believed under each setting. */
  const expectedIp: Record<string, (headers: Proxied) => string> = {
    off: () => PEER,
    // Two Fly-Client-IP lines arrive joined by ", ", which is no address.
    fly: ({ fly }) =>
      fly.length === 1 && isIP((fly[0] as string).trim()) !== 0 ? (fly[0] as string).trim() : PEER,
    // Only the last entry of the last line: the one our own proxy appended.
    xff: ({ xff }) => {
      const last = xff.at(-1)?.at(-1)?.trim();
      return last !== undefined && isIP(last) !== 0 ? last : PEER;
    },
  };

  for (const trustProxy of ["off", "fly", "xff"]) {
    test(`TRUST_PROXY=${trustProxy}: ${
      trustProxy === "off"
        ? "no header can set it"
        : "only the configured header, only a value that parses as an IP, else the peer"
    }`, async () => {
      const port = portOf(trustProxy);
      await fc.assert(
        fc.asyncProperty(proxyHeaders, async (headers) => {
          const event = await clickOnce(port, "adid=", headerLines(headers));
          expect(parseEvent(event).ip).toBe(expectedIp[trustProxy]?.(headers) ?? "");
        }),
        { seed: SEED, numRuns: 120 },
      );
    }, 60_000);
  }

  test("both headers set: only the configured one counts", async () => {
    const headers: Array<[string, string]> = [
      ["Fly-Client-IP", "198.51.100.7"],
      ["X-Forwarded-For", "203.0.113.9"],
    ];
    expect(parseEvent(await clickOnce(portOf("off"), "a=1", headers)).ip).toBe(PEER);
    expect(parseEvent(await clickOnce(portOf("fly"), "a=1", headers)).ip).toBe("198.51.100.7");
    expect(parseEvent(await clickOnce(portOf("xff"), "a=1", headers)).ip).toBe("203.0.113.9");
  });
});

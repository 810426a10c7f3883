import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CLICK_QUEUE } from "../../src/clickstore/clickstore";
import { IDLE_TIMEOUT_SECONDS, MAX_CLICK_QUERY_BYTES, MAX_REQUEST_BODY_BYTES } from "../../src/http/limits";
import type { RunningService } from "../../src/server";
import { eventProblems, parseEvent } from "../support/consumer";
import { BUN_MAX_HEAD_BYTES, type ClickBackends, HOSTILE_LINK, startClickBackends } from "../support/hostile";
import { rawGet, rawRequest } from "../support/raw-http";
import { startTestService } from "../support/service";

// The documented limits, each at its edge, over raw sockets (docs/hostile-input.md has the table).
let backends: ClickBackends;
let service: RunningService;
let port: number;

beforeAll(async () => {
  backends = await startClickBackends();
  service = await startTestService({
    DATABASE_URL: backends.databaseUrl,
    REDIS_URL_CLICKSTORE_1: backends.redis.url,
    API_SECRET_KEY: "limits-secret",
  });
  port = service.server.port as number;
}, 30_000);

afterAll(async () => {
  await service?.stop();
  await backends?.stop();
});

const clickPath = `/click/${HOSTILE_LINK.id}/go`;

async function takeEvents(): Promise<string[]> {
  return (await backends.redis.client().lpop(CLICK_QUEUE, 100)) ?? [];
}

/** A query of exactly this many bytes. */
function queryOf(bytes: number): string {
  return `q=${"a".repeat(bytes - 2)}`;
}

describe("request size", () => {
  test(`a click query of ${MAX_CLICK_QUERY_BYTES} bytes is stored; one byte more gets 414 and no event`, async () => {
    const atLimit = await rawRequest(port, rawGet(`${clickPath}?${queryOf(MAX_CLICK_QUERY_BYTES)}`));
    expect(atLimit.status).toBe(307);
    const [event] = await takeEvents();
    expect(eventProblems(event ?? "")).toEqual([]);
    expect(parseEvent(event ?? "").params.get("reqparams")).toHaveLength(MAX_CLICK_QUERY_BYTES);

    const over = await rawRequest(port, rawGet(`${clickPath}?${queryOf(MAX_CLICK_QUERY_BYTES + 1)}`));
    expect(over.status).toBe(414);
    expect(await takeEvents()).toEqual([]);
  });

  test("the 414 counts the query as Bun hands it over, percent-encoded", async () => {
    // 2,731 raw bytes above 0x7f reach the service as 9-byte escapes of U+FFFD: far over the limit.
    const raw = Buffer.concat([Buffer.from(`${clickPath}?q=`), Buffer.alloc(2_731, 0xe9)]);
    expect((await rawRequest(port, rawGet(raw))).status).toBe(414);
    expect(await takeEvents()).toEqual([]);
  });

  test(`a request head of ${BUN_MAX_HEAD_BYTES} bytes is served; one byte more gets 431 from Bun, no event`, async () => {
    const head = (agentLength: number) => rawGet(clickPath, [["User-Agent", "a".repeat(agentLength)]]);
    const fits = BUN_MAX_HEAD_BYTES - head(0).length;
    expect(head(fits)).toHaveLength(BUN_MAX_HEAD_BYTES);

    const atLimit = await rawRequest(port, head(fits));
    expect(atLimit.status).toBe(307);
    const [event] = await takeEvents();
    expect(parseEvent(event ?? "").userAgent).toBe("a".repeat(fits));

    expect((await rawRequest(port, head(fits + 1))).status).toBe(431);
    expect(await takeEvents()).toEqual([]);
  });

  test("a request target longer than the whole head limit gets 431 from Bun, not 414", async () => {
    const response = await rawRequest(port, rawGet(`${clickPath}?${queryOf(BUN_MAX_HEAD_BYTES)}`));
    expect(response.status).toBe(431);
    expect(await takeEvents()).toEqual([]);
  });

  test(`a body declared over ${MAX_REQUEST_BODY_BYTES / 1024 / 1024} MiB gets 413 from Bun on any route, unread`, async () => {
    for (const path of [clickPath, "/check", "/nowhere", "/api/v1/create"]) {
      const request = `POST ${path} HTTP/1.1\r\nHost: clicks.test\r\nContent-Length: ${MAX_REQUEST_BODY_BYTES + 1}\r\n\r\n`;
      expect((await rawRequest(port, request)).status).toBe(413);
    }
    expect(await takeEvents()).toEqual([]);
  });

  test("more than 198 header fields get 431 from Bun, no event", async () => {
    const fields = (count: number) =>
      Array.from({ length: count - 2 }, (_, i): [string, string] => [`X-Filler-${i}`, "1"]);
    // rawGet adds Host and Connection.
    expect((await rawRequest(port, rawGet(clickPath, fields(198)))).status).toBe(307);
    expect(await takeEvents()).toHaveLength(1);
    expect((await rawRequest(port, rawGet(clickPath, fields(199)))).status).toBe(431);
    expect(await takeEvents()).toEqual([]);
  });
});

describe("bytes HTTP does not allow", () => {
  test.each([
    ["a space", " "],
    ["a tab", "\t"],
    ["NUL", "\0"],
    ["ESC", "\x1b"],
  ])("%s in the request line: Bun refuses it (400 or 505), no event", async (_, byte) => {
    const target = Buffer.from(`${clickPath}?adid=${byte}x`, "latin1");
    const response = await rawRequest(port, rawGet(target));
    expect([400, 505]).toContain(response.status as number);
    expect(await takeEvents()).toEqual([]);
  });

  test.each([
    ["CR", "a\rb"],
    ["a bare LF", "a\nb"],
    ["NUL", "a\0b"],
    ["a folded line", "a\r\n b"],
  ])("%s in the User-Agent: Bun refuses it (400), no event", async (_, agent) => {
    const response = await rawRequest(
      port,
      rawGet(clickPath, [["User-Agent", Buffer.from(agent, "latin1")]]),
    );
    expect(response.status).toBe(400);
    expect(await takeEvents()).toEqual([]);
  });

  test("a User-Agent in no UTF-8 is read as Latin-1 and stays on its line; tabs and spaces inside are kept", async () => {
    const agent = Buffer.concat([
      Buffer.from("Mozilla/5.0\t(X11;  "),
      Buffer.from([0xc3, 0x28, 0xff, 0xa0]),
      Buffer.from(" x"),
    ]);
    expect((await rawRequest(port, rawGet(clickPath, [["User-Agent", agent]]))).status).toBe(307);
    const [event] = await takeEvents();
    expect(eventProblems(event ?? "")).toEqual([]);
    expect(parseEvent(event ?? "").userAgent).toBe("Mozilla/5.0\t(X11;  Ã(ÿ\u00a0 x");
  });

  test("a missing and an empty User-Agent both end the event with the separating space", async () => {
    for (const headers of [[], [["User-Agent", ""]]] as Array<Array<[string, string]>>) {
      expect((await rawRequest(port, rawGet(clickPath, headers))).status).toBe(307);
      const [event] = await takeEvents();
      expect(event?.endsWith(" ")).toBe(true);
      expect(parseEvent(event ?? "").userAgent).toBe("");
    }
  });
});

describe("slow and silent clients", () => {
  // Generous: Bun checks its timers every few seconds, and the machine is shared.
  const CUT_OFF_WITHIN_MS = (IDLE_TIMEOUT_SECONDS + 20) * 1_000;

  test("are disconnected: a slowloris head, a silent connection, a slow body, an idle keep-alive", async () => {
    const slowHead = [
      ...`GET ${clickPath}?adid=slow HTTP/1.1\r\nHost: clicks.test\r\nX-Slow: ${"z".repeat(200)}`,
    ];
    const slowBody = [
      "POST /api/v1/create HTTP/1.1\r\nHost: clicks.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
      ..."campaign_link=".split(""),
      ..."x".repeat(200),
    ];
    const options = { timeoutMs: CUT_OFF_WITHIN_MS, untilClosed: true };
    const [slowloris, silent, slowPost, keepAlive] = await Promise.all([
      rawRequest(port, slowHead, { ...options, intervalMs: 250 }),
      rawRequest(port, [], options),
      rawRequest(port, slowBody, { ...options, intervalMs: 250 }),
      rawRequest(port, `GET /check HTTP/1.1\r\nHost: clicks.test\r\n\r\n`, options),
    ]);

    for (const cut of [slowloris, silent, slowPost]) {
      expect(cut.closedAfterMs).toBeDefined();
      expect(cut.status).toBeUndefined();
    }
    expect(keepAlive.status).toBe(200);
    expect(keepAlive.closedAfterMs).toBeDefined();
    expect(await takeEvents()).toEqual([]);
  }, 60_000);
});

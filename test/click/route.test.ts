import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createApp, type Services } from "../../src/app";
import { createDirectClickHandler } from "../../src/click/route";
import { FileClickstore } from "../../src/clickstore/file";
import { loadConfig } from "../../src/config";
import { createClientIp, listenerPeers, type PeerLookup } from "../../src/http/client-ip";
import { LinkCache } from "../../src/links/cache";
import type { LinkRepository } from "../../src/links/repository";
import { createLogger } from "../../src/logger";
import { Metrics } from "../../src/metrics/metrics";
import type { RunningService } from "../../src/server";
import { createLink } from "../support/api";
import { linkRow } from "../support/links";
import type { RedisServer } from "../support/redis";
import { click, startServiceWithRedis, tempDir } from "../support/service";

// Real redis-server, PostgreSQL and service processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "test-secret";
const ERROR_PAGE = "https://example.com/error";
const AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15";

let redis: RedisServer;
let service: RunningService;

beforeAll(async () => {
  ({ redis, service } = await startServiceWithRedis({ API_SECRET_KEY: SECRET, ERROR_PAGE_URL: ERROR_PAGE }));
  await createLink(service.url, SECRET, {
    id: 1,
    network: "net",
    target_url: { ios: "https://apps.apple.com/app/id1?ct=a%20b", default: "https://example.com/landing" },
  });
});

afterAll(async () => {
  await service?.stop();
  await redis?.stop();
});

interface Answer {
  status: number;
  location: string | null;
  /**
   * The stored events with their per-click parts blanked: time and click id, and the peer address
   * (a Request handed to the app has none) with the lookup key made from it.
   */
  events: string[];
}

const PER_CLICK = /^\S+ \d+|(click_id=|created_at=|attr_window_from=|attr_window_till=|lookup_key=)[^&]+/g;

async function answer(send: () => Promise<Response> | Response): Promise<Answer> {
  await redis.clear();
  const response = await send();
  const events = (await redis.events()).map((event) =>
    event.replace(PER_CLICK, (_, key: string | undefined) => (key ? `${key}X` : "IP T")),
  );
  return { status: response.status, location: response.headers.get("location"), events };
}

describe("the click through Bun's router and through the Hono app", () => {
  const cases: Array<[string, string, RequestInit?]> = [
    ["a known link", "/click/1/go?idfa=44566636-6BC5-48DE-B4AE-7DF9DF06B356&click=c1&sub=a%20b"],
    ["HEAD on a known link", "/click/1/go?click=h", { method: "HEAD" }],
    ["an unknown link", "/click/999/go"],
    ["an id that is not digits", "/click/abc/go"],
    ["a percent-encoded id", "/click/%31/go"],
    ["another method", "/click/1/go", { method: "POST" }],
    ["a trailing slash", "/click/1/go/"],
    ["a query over the size limit", `/click/1/go?pad=${"x".repeat(9 * 1024)}`],
  ];
  for (const [name, path, init] of cases) {
    test(`answer alike: ${name}`, async () => {
      const headers = { "user-agent": AGENT };
      const direct = await answer(() => click(service.url, path, { ...init, headers }));
      const throughApp = await answer(() =>
        service.app.fetch(
          new Request(`${service.url}${path}`, { ...init, headers }),
          listenerPeers(service.server, "http"),
        ),
      );
      expect(direct).toEqual(throughApp);
    });
  }

  test("a known link is redirected by platform with its event stored", async () => {
    const direct = await answer(() =>
      click(service.url, "/click/1/go?click=c1", { headers: { "user-agent": AGENT } }),
    );
    expect(direct.status).toBe(307);
    expect(direct.location).toBe("https://apps.apple.com/app/id1?ct=a%20b");
    expect(direct.events).toHaveLength(1);
  });
});

describe("a click that fails", () => {
  // The link is known; composing its click fails (a bug, say): the click must fail safely.
  const repository: LinkRepository = {
    all: async () => [linkRow({ id: 1, targetUrl: { default: "https://example.com/" } })],
    byId: async () => linkRow({ id: 1, targetUrl: { default: "https://example.com/" } }),
    upsert: async () => {
      throw new Error("not used");
    },
    remove: async () => false,
  };
  const stored = join(tempDir(), "clicks.log");
  const clickstore = new FileClickstore(stored, new Metrics().clickstoreNode("file"));
  const peers: PeerLookup = { listener: "http", requestIP: () => ({ address: "203.0.113.9" }) };

  function services(errorPageUrl: string | undefined): Services {
    const config = loadConfig({
      LOG_LEVEL: "silent",
      ...(errorPageUrl ? { ERROR_PAGE_URL: errorPageUrl } : {}),
    });
    return {
      config,
      logger: createLogger("silent"),
      links: new LinkCache(repository),
      repository,
      replayGuard: {
        claim: async () => {
          throw new Error("not used");
        },
      },
      clickstore,
      composeClick: () => {
        throw new Error("composition broke");
      },
      clientIp: createClientIp("off"),
      metrics: new Metrics(),
      readiness: { notReadyBecause: () => undefined },
    };
  }

  function throughRouter(all: Services, path: string): Promise<Response> {
    return createDirectClickHandler(all)(new Request(`http://clicks.test${path}`), peers, "1");
  }

  test("people go to the error page, on both paths, and nothing is stored", async () => {
    const all = services(ERROR_PAGE);
    for (const response of [
      await throughRouter(all, "/click/1/go"),
      await createApp(all).fetch(new Request("http://clicks.test/click/1/go"), peers),
    ]) {
      expect(response.status).toBe(307);
      expect(response.headers.get("location")).toBe(ERROR_PAGE);
      expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(existsSync(stored)).toBe(false);
  });

  test("a HEAD gets the same status and headers without a body, on both paths", async () => {
    const head = (path: string) => new Request(`http://clicks.test${path}`, { method: "HEAD" });
    const failing = services(undefined);
    const notReady = { ...failing, readiness: { notReadyBecause: () => "links not loaded yet" } };
    for (const all of [failing, notReady]) {
      const answers = [
        await createDirectClickHandler(all)(head("/click/1/go"), peers, "1"),
        await createApp(all).fetch(head("/click/1/go"), peers),
      ];
      for (const response of answers) {
        expect(response.status).toBe(all === failing ? 500 : 503);
        expect(response.body).toBeNull();
      }
      expect(answers[0]?.headers.get("content-type")).toBe(answers[1]?.headers.get("content-type"));
    }
    expect(existsSync(stored)).toBe(false);
  });

  test("without an error page: 500 with an error id and no stack trace, on both paths", async () => {
    const all = services(undefined);
    for (const response of [
      await throughRouter(all, "/click/1/go"),
      await createApp(all).fetch(new Request("http://clicks.test/click/1/go"), peers),
    ]) {
      expect(response.status).toBe(500);
      expect(response.headers.get("content-type")).toBe("application/json");
      const body = (await response.json()) as Record<string, string>;
      expect(body.status).toBe("error");
      expect(body.errorId).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(body)).not.toContain("composition broke");
    }
  });
});

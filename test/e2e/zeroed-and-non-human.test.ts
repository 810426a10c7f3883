import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { listenerPeers } from "../../src/http/client-ip";
import type { RunningService } from "../../src/server";
import { createLink } from "../support/api";
import { parseEvent } from "../support/consumer";
import { Scrape } from "../support/metrics";
import { rawRequest } from "../support/raw-http";
import type { RedisServer } from "../support/redis";
import { click, startServiceWithRedis } from "../support/service";

// Real redis-server, PostgreSQL and service processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "test-secret";
const TOKEN = "metrics-token-for-the-tests";
const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
const ZERO_UNDASHED = "0".repeat(32);
const TARGETS = {
  ios: "https://apps.apple.com/app/id1",
  android: "https://play.google.com/store/apps/details?id=com.example",
  default: "https://example.com/landing",
};
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15";
const PIXEL = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36";
const SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";
// Windows in its UA, a preview fetcher all the same.
const TEAMS = "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5";
const IDFA_WINDOW_MINUTES = 1440;
const FINGERPRINT_WINDOW_MINUTES = 60;

interface Running {
  redis: RedisServer;
  service: RunningService;
}

const COUNTERS = ["clicks_total", "clicks_zeroed_adid_total", "clicks_non_human_total"] as const;
type Counts = Record<(typeof COUNTERS)[number], Record<string, number>>;

async function counts(service: RunningService): Promise<Counts> {
  const scrape = await Scrape.of(
    await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } }),
  );
  return Object.fromEntries(COUNTERS.map((name) => [name, scrape.nonZero(name)])) as Counts;
}

/** What `act` added to each counter, series by series (only those that moved). */
async function counted(service: RunningService, act: () => Promise<unknown>): Promise<Counts> {
  const before = await counts(service);
  await act();
  const after = await counts(service);
  const added = {} as Counts;
  for (const name of COUNTERS) {
    added[name] = {};
    for (const [series, value] of Object.entries(after[name])) {
      const delta = value - (before[name][series] ?? 0);
      if (delta !== 0) added[name][series] = delta;
    }
  }
  return added;
}

async function start(env: Record<string, string>): Promise<Running> {
  const running = await startServiceWithRedis({ API_SECRET_KEY: SECRET, METRICS_TOKEN: TOKEN, ...env });
  const windows = {
    attribution_window_idfa: IDFA_WINDOW_MINUTES,
    attribution_window_fingerprint: FINGERPRINT_WINDOW_MINUTES,
  };
  await createLink(running.service.url, SECRET, { id: 1, network: "net", ...windows, target_url: TARGETS });
  await createLink(running.service.url, SECRET, { id: 2, network: "net", ...windows, target_url: {} });
  return running;
}

function md5(text: string): string {
  return new Bun.CryptoHasher("md5").update(text).digest("hex");
}

function windowMinutes(event: ReturnType<typeof parseEvent>): number {
  const from = Date.parse(event.params.get("attr_window_from") as string);
  return (Date.parse(event.params.get("attr_window_till") as string) - from) / 60_000;
}

/** A HEAD over a plain socket: everything the service sent, up to its close. */
async function rawHead(service: RunningService, path: string, userAgent: string) {
  const request = `HEAD ${path} HTTP/1.1\r\nHost: clicks.test\r\nUser-Agent: ${userAgent}\r\nConnection: close\r\n\r\n`;
  return rawRequest(service.server.port as number, request, { untilClosed: true });
}

let original: Running;
let switched: Running;

beforeAll(async () => {
  [original, switched] = await Promise.all([
    start({}),
    start({ ZEROED_ADID: "fingerprint", NON_HUMAN_CLICKS: "skip" }),
  ]);
});

afterAll(async () => {
  for (const running of [original, switched]) {
    await running?.service.stop();
    await running?.redis.stop();
  }
});

describe("ZEROED_ADID=keep, NON_HUMAN_CLICKS=store (the defaults): the original's clicks, counted", () => {
  test("an all-zero idfa is the device id, with the idfa window", async () => {
    const { redis, service } = original;
    await redis.clear();
    let response: Response | undefined;
    const added = await counted(service, async () => {
      response = await click(service.url, `/click/1/go?idfa=${ZERO_UNDASHED}`, {
        headers: { "user-agent": IPHONE },
      });
    });
    expect(response?.status).toBe(307);
    expect(response?.headers.get("location")).toBe(TARGETS.ios);
    const events = await redis.events();
    expect(events).toHaveLength(1);
    const event = parseEvent(events[0] as string);
    expect(event.params.get("adid")).toBe(ZERO_UUID);
    expect(event.params.get("idfa_comb")).toBe(ZERO_UUID);
    expect(event.params.get("lookup_key")).toBe(md5(ZERO_UUID));
    expect(windowMinutes(event)).toBe(IDFA_WINDOW_MINUTES);
    expect(added).toEqual({
      clicks_total: { '{outcome="redirected",platform="ios"}': 1 },
      clicks_zeroed_adid_total: { '{platform="ios"}': 1 },
      clicks_non_human_total: {},
    });
  });

  test("a Slack preview is stored as the original stored it, and counted as a crawler", async () => {
    const { redis, service } = original;
    await redis.clear();
    let response: Response | undefined;
    const added = await counted(service, async () => {
      response = await click(service.url, "/click/1/go?click=c1", { headers: { "user-agent": SLACK } });
    });
    expect(response?.status).toBe(307);
    expect(response?.headers.get("location")).toBe(TARGETS.default);
    const events = await redis.events();
    expect(events).toHaveLength(1);
    const event = parseEvent(events[0] as string);
    expect(event.userAgent).toBe(SLACK);
    expect(event.params.get("lookup_key")).toBe(md5("127.0.0.1."));
    expect(added).toEqual({
      clicks_total: { '{outcome="redirected",platform="none"}': 1 },
      clicks_zeroed_adid_total: {},
      clicks_non_human_total: { '{reason="crawler"}': 1 },
    });
  });

  test("a HEAD is stored, answered without a body, and counted", async () => {
    const { redis, service } = original;
    await redis.clear();
    let answer: Awaited<ReturnType<typeof rawHead>> | undefined;
    const added = await counted(service, async () => {
      answer = await rawHead(service, "/click/1/go?click=h", IPHONE);
    });
    expect(answer?.status).toBe(307);
    expect(answer?.headers.get("location")).toBe(TARGETS.ios);
    expect(answer?.body.length).toBe(0);
    expect(await redis.events()).toHaveLength(1);
    expect(added).toEqual({
      clicks_total: { '{outcome="redirected",platform="ios"}': 1 },
      clicks_zeroed_adid_total: {},
      clicks_non_human_total: { '{reason="head"}': 1 },
    });
  });
});

describe("ZEROED_ADID=fingerprint, NON_HUMAN_CLICKS=skip", () => {
  for (const [name, query, userAgent, platform] of [
    ["an undashed all-zero idfa on iOS", `idfa=${ZERO_UNDASHED}`, IPHONE, "ios"],
    ["a dashed all-zero gadid on Android", `gadid=${ZERO_UUID}`, PIXEL, "android"],
  ] as const) {
    test(`${name} is no device id: the fingerprint key and window, adid as sent`, async () => {
      const { redis, service } = switched;
      await redis.clear();
      let response: Response | undefined;
      const added = await counted(service, async () => {
        response = await click(service.url, `/click/1/go?${query}`, { headers: { "user-agent": userAgent } });
      });
      expect(response?.status).toBe(307);
      // The Play listing gains the click id in its referrer (PLAY_REFERRER, on by default).
      const location = response?.headers.get("location") ?? "";
      expect(location.startsWith(TARGETS[platform])).toBe(true);
      const events = await redis.events();
      expect(events).toHaveLength(1);
      const event = parseEvent(events[0] as string);
      expect(event.params.get("redirect_url")).toBe(location);
      expect(event.params.get("adid")).toBe(ZERO_UUID);
      expect(event.params.get("idfa_comb")).toBeNull();
      expect(event.params.get("lookup_key")).toBe(md5(`127.0.0.1.${platform}`));
      expect(windowMinutes(event)).toBe(FINGERPRINT_WINDOW_MINUTES);
      expect(added).toEqual({
        clicks_total: { [`{outcome="redirected",platform="${platform}"}`]: 1 },
        clicks_zeroed_adid_total: { [`{platform="${platform}"}`]: 1 },
        clicks_non_human_total: {},
      });
    });
  }

  test("a Slack preview and a Teams preview are redirected as people are, and nothing is stored", async () => {
    const { redis, service } = switched;
    await redis.clear();
    const responses: Response[] = [];
    const added = await counted(service, async () => {
      for (const userAgent of [SLACK, TEAMS]) {
        responses.push(
          await click(service.url, "/click/1/go?click=c1", { headers: { "user-agent": userAgent } }),
        );
      }
    });
    expect(responses.map((response) => [response.status, response.headers.get("location")])).toEqual([
      [307, TARGETS.default],
      [307, TARGETS.default],
    ]);
    expect(await redis.events()).toEqual([]);
    expect(added).toEqual({
      clicks_total: { '{outcome="redirected",platform="none"}': 2 },
      clicks_zeroed_adid_total: {},
      clicks_non_human_total: { '{reason="crawler"}': 2 },
    });
  });

  test("a HEAD is redirected (or 404) without a body, and nothing is stored", async () => {
    const { redis, service } = switched;
    await redis.clear();
    const answers: Array<Awaited<ReturnType<typeof rawHead>>> = [];
    const added = await counted(service, async () => {
      answers.push(await rawHead(service, "/click/1/go?click=h", IPHONE));
      answers.push(await rawHead(service, "/click/2/go?click=h", IPHONE));
    });
    expect(
      answers.map((answer) => [answer.status, answer.headers.get("location"), answer.body.length]),
    ).toEqual([
      [307, TARGETS.ios, 0],
      [404, undefined, 0],
    ]);
    expect(await redis.events()).toEqual([]);
    expect(added).toEqual({
      clicks_total: { '{outcome="redirected",platform="ios"}': 1, '{outcome="not_found",platform="ios"}': 1 },
      clicks_zeroed_adid_total: {},
      clicks_non_human_total: { '{reason="head"}': 2 },
    });
  });

  test("a person's click is stored as always", async () => {
    const { redis, service } = switched;
    await redis.clear();
    const response = await click(service.url, "/click/1/go?click=p", { headers: { "user-agent": IPHONE } });
    expect(response.status).toBe(307);
    expect(await redis.events()).toHaveLength(1);
  });

  test("an unknown link is answered as ever, and is no non-human click", async () => {
    const { service } = switched;
    const added = await counted(service, () =>
      click(service.url, "/click/999/go", { headers: { "user-agent": SLACK } }),
    );
    expect(added).toEqual({
      clicks_total: { '{outcome="unknown_link",platform="unexamined"}': 1 },
      clicks_zeroed_adid_total: {},
      clicks_non_human_total: {},
    });
  });

  describe("Bun's router and the Hono app answer alike", () => {
    for (const [name, init] of [
      ["a Slack preview", { headers: { "user-agent": SLACK } }],
      ["a HEAD", { method: "HEAD", headers: { "user-agent": IPHONE } }],
    ] as const) {
      test(name, async () => {
        const { redis, service } = switched;
        const answer = async (send: () => Promise<Response> | Response) => {
          await redis.clear();
          const response = await send();
          return {
            status: response.status,
            location: response.headers.get("location"),
            body: await response.text(),
            events: await redis.events(),
          };
        };
        const path = "/click/1/go?click=c1";
        const direct = await answer(() => click(service.url, path, init));
        const throughApp = await answer(() =>
          service.app.fetch(
            new Request(`${service.url}${path}`, init),
            listenerPeers(service.server, "http"),
          ),
        );
        expect(direct).toEqual(throughApp);
        expect(direct.status).toBe(307);
        expect(direct.events).toEqual([]);
      });
    }
  });
});

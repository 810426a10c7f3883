import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { callApi } from "../support/api";
import { waitFor } from "../support/ports";
import { sharedPostgres } from "../support/postgres";
import { RedisServer } from "../support/redis";
import { click, LogLines, migrate, spawnService, startTestService } from "../support/service";

// Real redis-server, PostgreSQL and service processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "api-secret-that-must-not-be-logged";
const TOKEN = "metrics-token-that-must-not-be-logged";
const REDIS_PASSWORD = "redis password/that:must@not be logged";
const DATABASE_PASSWORD = "database-password-that-must-not-be-logged";
const IOS =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";

let databaseUrl: string;
let redis: RedisServer;

beforeAll(async () => {
  databaseUrl = await (await sharedPostgres()).createDatabase();
  await migrate(databaseUrl);
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis?.stop();
});

/** A few API calls and clicks, the same for each log level. */
async function traffic(base: string): Promise<void> {
  const api = (action: "create" | "delete", link: object) =>
    callApi(base, action, { payload: JSON.stringify(link), secret: SECRET });
  expect(
    (await api("create", { id: 1, network: "adnet", target_url: { ios: "https://apps.apple.com/1" } }))
      .status,
  ).toBe(200);
  expect((await api("create", { id: 2, target_url: { ios: "https://apps.apple.com/2" } })).status).toBe(200);
  expect((await api("delete", { id: 2 })).status).toBe(200);
  expect((await click(base, "/click/1/go", { headers: { "user-agent": IOS } })).status).toBe(307);
  expect((await click(base, "/click/1/go?idfa=garbage", { headers: { "user-agent": IOS } })).status).toBe(
    307,
  );
  expect((await click(base, "/click/9/go")).status).toBe(404);
}

/** What the service logs at this level through `traffic`, from start to stop. */
async function linesAt(level: string): Promise<LogLines> {
  const logs = new LogLines();
  const service = await startTestService(
    {
      DATABASE_URL: databaseUrl,
      REDIS_URL_CLICKSTORE_1: redis.url,
      API_SECRET_KEY: SECRET,
      LOG_LEVEL: level,
    },
    logs,
  );
  try {
    await traffic(service.url);
  } finally {
    await service.stop();
  }
  return logs;
}

describe("log lines", () => {
  test("at info: start, API changes, and not one line per click", async () => {
    const logs = await linesAt("info");
    expect(logs.entries().map((entry) => entry.msg)).toEqual([
      "links loaded",
      "clicks is listening",
      "campaign link saved",
      "campaign link saved",
      "campaign link deleted",
    ]);
    const [, listening, saved, , deleted] = logs.entries();
    expect(listening?.config).toMatchObject({ apiSigned: true, clickstores: [`127.0.0.1:${redis.port}`] });
    expect(saved).toMatchObject({ level: "info", linkId: 1, action: "create" });
    expect(deleted).toMatchObject({ level: "info", linkId: 2, action: "delete", existed: true });
  });

  test("at debug: one line per click, and the invalid idfa", async () => {
    const debug = (await linesAt("debug")).entries().filter((entry) => entry.level === "debug");
    expect(debug.map(({ msg, linkId, platform, outcome }) => ({ msg, linkId, platform, outcome }))).toEqual([
      { msg: "click", linkId: 1, platform: "ios", outcome: "redirected" },
      { msg: "invalid_idfa", linkId: 1, platform: undefined, outcome: undefined },
      { msg: "click", linkId: 1, platform: "ios", outcome: "redirected" },
      { msg: "click", linkId: "9", platform: undefined, outcome: "unknown_link" },
    ]);
    expect(debug[1]?.network).toBe("adnet");
  });
});

describe("no secret in any log line", () => {
  const forms = (secret: string) => [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
  const SECRETS = [SECRET, TOKEN, REDIS_PASSWORD, DATABASE_PASSWORD].flatMap(forms);

  /** Every secret set, over a Redis that asks for its password. */
  function secretEnv(secured: RedisServer): Record<string, string> {
    return {
      // The test cluster trusts every local connection, so the password is accepted and ignored.
      DATABASE_URL: databaseUrl.replace("postgres@", `postgres:${DATABASE_PASSWORD}@`),
      REDIS_URL_CLICKSTORE_1: secured.url,
      API_SECRET_KEY: SECRET,
      METRICS_TOKEN: TOKEN,
      LOG_LEVEL: "debug",
    };
  }

  function expectNoSecret(lines: string[]): void {
    for (const line of lines) {
      for (const secret of SECRETS) {
        if (line.includes(secret)) throw new Error(`a secret is in this log line: ${line}`);
      }
    }
  }

  test("in-process, at debug, through API calls, scrapes, clicks and a clickstore going away", async () => {
    const secured = await RedisServer.start({ password: REDIS_PASSWORD });
    const logs = new LogLines();
    const service = await startTestService(secretEnv(secured), logs);
    try {
      await traffic(service.url);
      expect((await callApi(service.url, "create", { payload: '{"id":3}', secret: TOKEN })).status).toBe(404);
      const scrape = await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(scrape.status).toBe(200);
      expect(
        (await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${SECRET}` } })).status,
      ).toBe(401);
      await secured.stop();
      const headers = { "user-agent": IOS, authorization: `Bearer ${TOKEN}` };
      expect((await click(service.url, "/click/1/go", { headers })).status).toBe(307);
      // The node going away is logged, and that line must not carry its password either.
      await waitFor(
        "the connection error line",
        () => logs.entries().some((entry) => entry.msg === "clickstore connection error") || undefined,
      );
    } finally {
      await service.stop();
      await secured.stop();
    }
    expect(logs.lines.length).toBeGreaterThan(8);
    expectNoSecret(logs.lines);
  });

  test("the process as deployed (bun src/main.ts), from start to SIGTERM", async () => {
    const secured = await RedisServer.start({ password: REDIS_PASSWORD });
    try {
      const child = await spawnService(secretEnv(secured));
      await traffic(child.url);
      expect(await child.kill("SIGTERM")).toBe(0);
      const lines = child.output().split("\n").filter(Boolean);
      expect(lines.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
      expectNoSecret(lines);
    } finally {
      await secured.stop();
    }
  });
});

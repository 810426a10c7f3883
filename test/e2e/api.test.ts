import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import postgres from "postgres";
import type { RunningService } from "../../src/server";
import { callApi } from "../support/api";
import { sharedPostgres } from "../support/postgres";
import { RedisServer } from "../support/redis";
import { click, migrate, startTestService } from "../support/service";

// Real redis-server, PostgreSQL and service processes start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "api-secret";

let database: string;
let redis: RedisServer;
let service: RunningService;
let sql: postgres.Sql;

async function storedLink(id: number) {
  const rows = await sql`select id, campaign, target_url from campaign_links where id = ${id}`;
  return rows[0];
}

beforeAll(async () => {
  database = await (await sharedPostgres()).createDatabase();
  await migrate(database);
  sql = postgres(database, { max: 1, onnotice: () => {} });
  redis = await RedisServer.start();
  service = await startTestService({
    DATABASE_URL: database,
    REDIS_URL_CLICKSTORE_1: redis.url,
    API_SECRET_KEY: SECRET,
  });
});

afterAll(async () => {
  await service?.stop();
  await redis?.stop();
  await sql?.end();
});

describe("signed API", () => {
  test("create, update and delete; the next click sees each change", async () => {
    const link = { id: 100, campaign: "first", target_url: { default: "https://example.com/one" } };
    let response = await callApi(service.url, "create", { payload: JSON.stringify(link), secret: SECRET });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
    expect((await storedLink(100))?.campaign).toBe("first");
    expect((await click(service.url, "/click/100/go")).headers.get("location")).toBe(
      "https://example.com/one",
    );

    const updated = { ...link, campaign: "second", target_url: { default: "https://example.com/two" } };
    response = await callApi(service.url, "create", { payload: JSON.stringify(updated), secret: SECRET });
    expect(response.status).toBe(200);
    expect(await storedLink(100)).toEqual({ id: 100, campaign: "second", target_url: updated.target_url });
    expect((await click(service.url, "/click/100/go")).headers.get("location")).toBe(
      "https://example.com/two",
    );

    response = await callApi(service.url, "delete", { payload: JSON.stringify({ id: 100 }), secret: SECRET });
    expect(response.status).toBe(200);
    expect(await storedLink(100)).toBeUndefined();
    expect((await click(service.url, "/click/100/go")).status).toBe(404);
  });

  test("deleting a link that does not exist is ok too", async () => {
    const response = await callApi(service.url, "delete", { payload: '{"id":424242}', secret: SECRET });
    expect(response.status).toBe(200);
  });

  test("a wrong or missing signature is a 404 and changes nothing", async () => {
    const payload = JSON.stringify({ id: 200, target_url: { default: "https://example.com" } });
    const forged = [
      callApi(service.url, "create", { payload, secret: "wrong-secret" }),
      callApi(service.url, "create", { payload, pepper: "0".repeat(40) }),
      callApi(service.url, "create", { payload, pepper: "" }),
      fetch(`${service.url}/api/v1/create`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ campaign_link: payload, pepper: "x" }),
      }),
    ];
    for (const response of await Promise.all(forged)) expect(response.status).toBe(404);
    expect(await storedLink(200)).toBeUndefined();
  });

  test("bad bodies get a 400 naming the field and store nothing", async () => {
    const cases: Array<[string, string]> = [
      ["{not json", "campaign_link"],
      ['{"campaign":"no id"}', "id"],
      ['{"id":"12"}', "id"],
      ['{"id":201,"target_url":["https://x"]}', "target_url"],
      ['{"id":201,"target_url":{"ios":"not a url"}}', "target_url.ios"],
      ['{"id":201,"target_url":{"ios":"https://x\\r\\nSet-Cookie: a"}}', "target_url.ios"],
      ['{"id":201,"attribution_window_idfa":1.5}', "attribution_window_idfa"],
    ];
    for (const [payload, field] of cases) {
      const response = await callApi(service.url, "create", { payload, secret: SECRET });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { field: string };
      expect(body.field).toBe(field);
    }
    expect(await storedLink(201)).toBeUndefined();
  });

  test("a body over 64 KiB gets 413", async () => {
    const payload = JSON.stringify({ id: 202, campaign: "x".repeat(70_000) });
    const response = await callApi(service.url, "create", { payload, secret: SECRET });
    expect(response.status).toBe(413);
    expect(await storedLink(202)).toBeUndefined();
  });
});

describe("API without a key", () => {
  test("answers 404 to everything unless ALLOW_UNSIGNED_API=true", async () => {
    const closed = await startTestService({ DATABASE_URL: database, REDIS_URL_CLICKSTORE_1: redis.url });
    const open = await startTestService({
      DATABASE_URL: database,
      REDIS_URL_CLICKSTORE_1: redis.url,
      ALLOW_UNSIGNED_API: "true",
    });
    try {
      const payload = JSON.stringify({ id: 300, target_url: { default: "https://example.com" } });
      expect((await callApi(closed.url, "create", { payload })).status).toBe(404);
      expect(await storedLink(300)).toBeUndefined();
      expect((await callApi(open.url, "create", { payload })).status).toBe(200);
      expect(await storedLink(300)).toBeDefined();
    } finally {
      await closed.stop();
      await open.stop();
    }
  });
});

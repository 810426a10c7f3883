import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import postgres from "postgres";
import {
  type LinkApiRequest,
  sendLinkApiRequest,
  signedLinkApiRequest,
  unixSeconds,
} from "../../src/api/client";
import type { RunningService } from "../../src/server";
import { callApi } from "../support/api";
import { Scrape } from "../support/metrics";
import { waitFor } from "../support/ports";
import { sharedPostgres } from "../support/postgres";
import {
  click,
  LogLines,
  migrate,
  type ServiceProcess,
  spawnService,
  startTestService,
} from "../support/service";

// PostgreSQL and a second service process start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const SECRET = "v2-api-secret-key";
const REJECTED = "link API request rejected";

let database: string;
let sql: postgres.Sql;
const logs = new LogLines();
let service: RunningService;
let second: ServiceProcess;
/** The hex of every v2 signature sent, so that no log line can be shown to hold one whole. */
const sent: string[] = [];
/** Replays refused by the in-process service. */
let replayedHere = 0;

function signed(base: string, action: "create" | "delete", link: object, timestamp?: number): LinkApiRequest {
  const request = signedLinkApiRequest(base, action, JSON.stringify(link), SECRET, timestamp);
  sent.push((request.headers["x-api-signature"] as string).slice("v2=".length));
  return request;
}

async function storedLink(id: number) {
  const rows = await sql`select id, campaign, target_url from campaign_links where id = ${id}`;
  return rows[0];
}

/** The rejections logged from line `from` on: level and reason of each. */
function rejections(lines: readonly string[], from = 0): Array<Record<string, unknown>> {
  return lines
    .slice(from)
    .filter((line) => line.includes(REJECTED))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function rejectionCounts(running: RunningService): Promise<Record<string, number>> {
  return new Scrape(await running.metrics.render()).nonZero("clicks_api_rejections_total");
}

/** Today's answer to an unknown route, byte for byte, to compare each refusal with. */
async function notFound(base: string): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(`${base}/api/1/nothing-here`, { method: "POST" });
  return { status: response.status, type: response.headers.get("content-type"), body: await response.text() };
}

async function expectRefused(response: Response, base: string): Promise<void> {
  expect({
    status: response.status,
    type: response.headers.get("content-type"),
    body: await response.text(),
  }).toEqual(await notFound(base));
}

beforeAll(async () => {
  database = await (await sharedPostgres()).createDatabase();
  await migrate(database);
  sql = postgres(database, { max: 1, onnotice: () => {} });
  service = await startTestService({ DATABASE_URL: database, API_SECRET_KEY: SECRET }, logs);
  second = await spawnService({ DATABASE_URL: database, API_SECRET_KEY: SECRET, REDIS_URL_CLICKSTORE_1: "" });
});

afterAll(async () => {
  await service?.stop();
  await second?.kill();
  await sql?.end();
});

describe("v2 signed API", () => {
  test("create, update and delete; the next click sees each change", async () => {
    const link = { id: 100, campaign: "first", target_url: { default: "https://example.com/one" } };
    let response = await sendLinkApiRequest(signed(service.url, "create", link));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
    expect((await click(service.url, "/click/100/go")).headers.get("location")).toBe(
      "https://example.com/one",
    );

    const updated = { ...link, campaign: "second", target_url: { default: "https://example.com/two" } };
    response = await sendLinkApiRequest(signed(service.url, "create", updated));
    expect(response.status).toBe(200);
    expect(await storedLink(100)).toEqual({ id: 100, campaign: "second", target_url: updated.target_url });
    expect((await click(service.url, "/click/100/go")).headers.get("location")).toBe(
      "https://example.com/two",
    );

    response = await sendLinkApiRequest(signed(service.url, "delete", { id: 100 }));
    expect(response.status).toBe(200);
    expect(await storedLink(100)).toBeUndefined();
    expect((await click(service.url, "/click/100/go")).status).toBe(404);
  });

  test("a replay is refused, by this process and by another one on the same database", async () => {
    const mark = logs.lines.length;
    const secondMark = second.output().split("\n").length - 1;
    const old = signed(service.url, "create", {
      id: 110,
      campaign: "old",
      target_url: { default: "https://a.example" },
    });
    expect((await sendLinkApiRequest(old)).status).toBe(200);
    const newer = signed(service.url, "create", {
      id: 110,
      campaign: "new",
      target_url: { default: "https://b.example" },
    });
    expect((await sendLinkApiRequest(newer)).status).toBe(200);

    // The captured older create, sent again: it must not undo the newer one, here or anywhere.
    await expectRefused(await sendLinkApiRequest(old), service.url);
    await expectRefused(
      await sendLinkApiRequest({ ...old, url: old.url.replace(service.url, second.url) }),
      second.url,
    );
    expect((await storedLink(110))?.campaign).toBe("new");

    replayedHere++;
    expect(rejections(logs.lines, mark)).toMatchObject([
      {
        level: "warn",
        reason: "replayed",
        scheme: "v2",
        action: "create",
        signaturePrefix: old.headers["x-api-signature"]?.slice(3, 11),
      },
    ]);
    // The other process's log arrives through a pipe, a moment after its answer.
    const secondLines = await waitFor("the other process's rejection", () => {
      const lines = second.output().split("\n").slice(secondMark);
      return rejections(lines).length > 0 ? lines : undefined;
    });
    expect(rejections(secondLines)).toMatchObject([{ level: "warn", reason: "replayed", scheme: "v2" }]);
  });

  test("the same request to both processes at once is accepted once", async () => {
    const request = signed(service.url, "create", { id: 120, target_url: { default: "https://c.example" } });
    const answers = await Promise.all([
      sendLinkApiRequest(request),
      sendLinkApiRequest({ ...request, url: request.url.replace(service.url, second.url) }),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 404]);
    // Whichever lost the race counted it.
    if (answers[0]?.status === 404) replayedHere++;
    await Promise.all(answers.map((answer) => answer.text()));
  });

  test("a timestamp 301 s old or 301 s ahead is refused", async () => {
    const mark = logs.lines.length;
    const old = signed(
      service.url,
      "create",
      { id: 130, target_url: { default: "https://d.example" } },
      unixSeconds() - 301,
    );
    await expectRefused(await sendLinkApiRequest(old), service.url);
    // Signed at the start of a second, so that the service reads the same second (time only moves on,
    // which can only make an old timestamp older, but could bring one 301 s ahead back to 300).
    await waitFor("the start of a second", () => Date.now() % 1000 < 100 || undefined, 2_000, 5);
    const ahead = signed(
      service.url,
      "create",
      { id: 130, target_url: { default: "https://d.example" } },
      unixSeconds() + 301,
    );
    await expectRefused(await sendLinkApiRequest(ahead), service.url);
    expect(await storedLink(130)).toBeUndefined();
    const logged = rejections(logs.lines, mark);
    expect(logged.map(({ level, reason }) => `${level} ${reason}`)).toEqual([
      "warn stale_timestamp",
      "warn stale_timestamp",
    ]);
    expect((logged[0]?.skewSeconds as number) >= 301).toBe(true);
    expect(logged[1]?.skewSeconds).toBe(-301);
  });

  test("a body changed after signing is refused", async () => {
    const mark = logs.lines.length;
    const request = signed(service.url, "create", { id: 140, target_url: { default: "https://e.example" } });
    const tampered = request.body.replace("e.example", "evil.example");
    await expectRefused(await sendLinkApiRequest({ ...request, body: tampered }), service.url);
    await expectRefused(await sendLinkApiRequest({ ...request, body: `${request.body}&x=1` }), service.url);
    await expectRefused(
      await sendLinkApiRequest({ ...request, url: request.url.replace("/create", "/delete") }),
      service.url,
    );
    expect(await storedLink(140)).toBeUndefined();
    expect(rejections(logs.lines, mark).map(({ reason }) => reason)).toEqual([
      "bad_signature",
      "bad_signature",
      "bad_signature",
    ]);
    // The untouched request was never accepted, so it still goes through.
    expect((await sendLinkApiRequest(request)).status).toBe(200);
  });

  test("a signed request refused as invalid changed nothing: sent again, it gets the same 400, not replayed", async () => {
    const mark = logs.lines.length;
    const request = signed(service.url, "create", { id: 145, target_url: { default: "not a url" } });
    const first = await sendLinkApiRequest(request);
    const again = await sendLinkApiRequest(request);
    expect(first.status).toBe(400);
    expect(again.status).toBe(400);
    expect(await again.text()).toBe(await first.text());
    expect(await storedLink(145)).toBeUndefined();
    expect(rejections(logs.lines, mark)).toEqual([]);
  });

  test("a request with no signature is refused as no_signature", async () => {
    const mark = logs.lines.length;
    const response = await fetch(`${service.url}/api/1/create`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "campaign_link=%7B%22id%22%3A150%7D",
    });
    await expectRefused(response, service.url);
    expect(rejections(logs.lines, mark)).toMatchObject([
      { level: "warn", reason: "no_signature", action: "create" },
    ]);
  });

  test("expired signatures are purged as requests come", async () => {
    await sql`insert into api_signatures (signature, expires_at) values ('expired', now() - interval '20 minutes')`;
    expect((await sendLinkApiRequest(signed(service.url, "delete", { id: 424242 }))).status).toBe(200);
    expect(await sql`select signature from api_signatures where signature = 'expired'`).toHaveLength(0);
    // The signatures still in their window stay.
    expect((await sql`select count(*)::int as n from api_signatures`)[0]?.n).toBeGreaterThan(0);
  });

  test("every rejection is counted by reason, and the requests by result", async () => {
    expect(await rejectionCounts(service)).toEqual({
      '{reason="replayed"}': replayedHere,
      '{reason="stale_timestamp"}': 2,
      '{reason="bad_signature"}': 3,
      '{reason="no_signature"}': 1,
    });
    const requests = new Scrape(await service.metrics.render());
    expect(requests.value("clicks_api_requests_total", { action: "create", result: "rejected" })).toBe(
      5 + replayedHere,
    );
    expect(requests.value("clicks_api_requests_total", { action: "delete", result: "rejected" })).toBe(1);
  });
});

describe("legacy signatures", () => {
  const payload = JSON.stringify({
    id: 200,
    campaign: "legacy",
    target_url: { default: "https://f.example" },
  });

  test("accepted by default", async () => {
    expect((await callApi(service.url, "create", { payload, secret: SECRET })).status).toBe(200);
    expect((await storedLink(200))?.campaign).toBe("legacy");
  });

  test("refused with API_SIGNATURE=v2, logged as no_signature from a legacy client; v2 still accepted", async () => {
    const v2Logs = new LogLines();
    const v2Only = await startTestService(
      { DATABASE_URL: database, API_SECRET_KEY: SECRET, API_SIGNATURE: "v2" },
      v2Logs,
    );
    try {
      const legacyPayload = JSON.stringify({ id: 201, target_url: { default: "https://g.example" } });
      await expectRefused(
        await callApi(v2Only.url, "create", { payload: legacyPayload, secret: SECRET }),
        v2Only.url,
      );
      expect(await storedLink(201)).toBeUndefined();
      expect(rejections(v2Logs.lines)).toMatchObject([
        { level: "warn", reason: "no_signature", scheme: "legacy" },
      ]);
      expect(await rejectionCounts(v2Only)).toEqual({ '{reason="no_signature"}': 1 });
      const link = { id: 201, target_url: { default: "https://g.example" } };
      expect((await sendLinkApiRequest(signed(v2Only.url, "create", link))).status).toBe(200);
    } finally {
      await v2Only.stop();
    }
  });
});

describe("logs", () => {
  test("no line holds the secret or a whole signature", () => {
    const everything = [...logs.lines, second.output()].join("\n");
    expect(rejections(logs.lines).length).toBeGreaterThan(0);
    expect(everything).not.toContain(SECRET);
    expect(sent.length).toBeGreaterThan(10);
    for (const signature of sent) {
      expect(everything).not.toContain(signature);
      // Not even half of one.
      expect(everything).not.toContain(signature.slice(0, 32));
    }
  });
});

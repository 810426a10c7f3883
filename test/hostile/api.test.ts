import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { sign, verifySignature } from "../../src/api/signature";
import { type Database, openPostgres } from "../../src/db/database";
import { IDLE_TIMEOUT_SECONDS, MAX_BODY_BYTES, MAX_REQUEST_BODY_BYTES } from "../../src/http/limits";
import { createLinkRepository } from "../../src/links/repository";
import type { RunningService } from "../../src/server";
import { apiForm, callApi } from "../support/api";
import { type ClickBackends, HOSTILE_LINK, startClickBackends } from "../support/hostile";
import { hostileLink, runHostileLink } from "../support/hostile-links";
import { rawRequest } from "../support/raw-http";
import { click, LogLines, startTestService } from "../support/service";

// The link API under attack: oversized and lying bodies, bad signatures, prototype keys, URLs
// that would inject a header. After every refusal the database must be exactly as it was.
const SECRET = "hostile-api-secret";
const SEED = 31;

let backends: ClickBackends;
let service: RunningService;
let database: Database;
let port: number;
const logs = new LogLines();

beforeAll(async () => {
  backends = await startClickBackends();
  service = await startTestService(
    {
      DATABASE_URL: backends.databaseUrl,
      REDIS_URL_CLICKSTORE_1: backends.redis.url,
      API_SECRET_KEY: SECRET,
    },
    logs,
  );
  port = service.server.port as number;
  database = openPostgres(backends.databaseUrl);
}, 30_000);

afterAll(async () => {
  await service?.stop();
  await database?.close();
  await backends?.stop();
});

/** Every link as stored, in id order: compared before and after each refused request. */
async function snapshot(): Promise<string> {
  const links = await createLinkRepository(database.db).all();
  return JSON.stringify(links.sort((a, b) => a.id - b.id));
}

const SALT = "salt-1";

/** A form signed as the analytics tool signs it. */
const signedForm = (payload: string) => apiForm(payload, sign(SALT, payload, SECRET));

/** POSTs a ready-made form body to the API. */
function postForm(action: string, body: string): Promise<Response> {
  return fetch(`${service.url}/api/v1/${action}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-api-salt": SALT },
    body,
  });
}

/** A signed create of one link (the shared helper, with this file's secret and salt). */
const create = (link: unknown) =>
  callApi(service.url, "create", { payload: JSON.stringify(link), secret: SECRET, salt: SALT });

/** A signed create whose whole body is exactly `bytes` long (padded in a field links do not have, which is ignored). */
function createBodyOf(bytes: number, id: number): string {
  const base = signedForm(JSON.stringify({ id, padding: "" }));
  const body = signedForm(JSON.stringify({ id, padding: "c".repeat(bytes - base.length) }));
  if (body.length !== bytes) throw new Error(`padding missed: ${body.length} ≠ ${bytes}`);
  return body;
}

const head = (length: string) =>
  `POST /api/v1/create HTTP/1.1\r\nHost: clicks.test\r\nX-API-SALT: ${SALT}\r\nContent-Type: application/x-www-form-urlencoded\r\n${length}\r\n`;
const chunk = (data: string) => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;

describe(`bodies over ${MAX_BODY_BYTES / 1024} KiB`, () => {
  test("are refused before they are read: the 413 comes while the body is still unsent", async () => {
    const before = await snapshot();
    const response = await rawRequest(port, head("Content-Length: 70000\r\n"), { timeoutMs: 5_000 });
    expect(response.status).toBe(413);
    expect(response.body.toString()).toBe('{"status":"error","error":"body larger than 64 KiB"}');
    expect(await snapshot()).toBe(before);
  });

  test(`a body of exactly ${MAX_BODY_BYTES} bytes is read; one byte more is refused with 413`, async () => {
    const atLimit = await postForm("create", createBodyOf(MAX_BODY_BYTES, 601));
    expect(atLimit.status).toBe(200);
    const stored = await snapshot();
    const over = await postForm("create", createBodyOf(MAX_BODY_BYTES + 1, 602));
    expect(over.status).toBe(413);
    expect(await snapshot()).toBe(stored);
  });

  test("a chunked body is cut off at the limit, without waiting for its end", async () => {
    const before = await snapshot();
    const pieces = Array.from({ length: 70 }, () => chunk("x".repeat(1024)));
    const response = await rawRequest(port, [head("Transfer-Encoding: chunked\r\n"), ...pieces], {
      timeoutMs: (IDLE_TIMEOUT_SECONDS + 20) * 1_000,
    });
    expect(response.status).toBe(413);
    // The terminating chunk never came: an answer before the idle timeout proves nothing waited for it.
    expect(response.answeredAfterMs).toBeLessThan(IDLE_TIMEOUT_SECONDS * 1_000);
    expect(await snapshot()).toBe(before);
  }, 40_000);

  test("a chunked body sent faster than it is read, past what Bun takes at all: the same 413", async () => {
    const before = await snapshot();
    const blast = chunk("x".repeat(MAX_REQUEST_BODY_BYTES + 1024));
    const response = await rawRequest(port, [head("Transfer-Encoding: chunked\r\n"), blast]);
    expect(response.status).toBe(413);
    expect(await snapshot()).toBe(before);
  });

  test("a complete chunked body over the limit is refused and changes nothing", async () => {
    const before = await snapshot();
    const body = createBodyOf(100 * 1024, 603);
    const response = await rawRequest(port, [
      head("Transfer-Encoding: chunked\r\nConnection: close\r\n"),
      ...Array.from({ length: Math.ceil(body.length / 8192) }, (_, i) =>
        chunk(body.slice(i * 8192, (i + 1) * 8192)),
      ),
      "0\r\n\r\n",
    ]);
    expect(response.status).toBe(413);
    expect(await snapshot()).toBe(before);
  });

  test("a chunked body under the limit is read as any other", async () => {
    const body = signedForm(JSON.stringify({ id: 604, target_url: { default: "https://chunked.example/" } }));
    const response = await rawRequest(port, [
      head("Transfer-Encoding: chunked\r\nConnection: close\r\n"),
      chunk(body.slice(0, 10)),
      chunk(body.slice(10)),
      "0\r\n\r\n",
    ]);
    expect(response.status).toBe(200);
    expect((await click(service.url, "/click/604/go")).headers.get("location")).toBe(
      "https://chunked.example/",
    );
  });

  test("a Content-Length shorter than the body: only that much is read, which no longer matches its signature", async () => {
    const before = await snapshot();
    const body = signedForm(JSON.stringify({ id: 605, campaign: "lying" }));
    const response = await rawRequest(
      port,
      `${head(`Content-Length: ${body.length - 20}\r\nConnection: close\r\n`)}${body}`,
    );
    expect(response.status).toBe(404);
    expect(await snapshot()).toBe(before);
  });

  test("Content-Length and Transfer-Encoding together, or two lengths: Bun refuses (400), nothing changes", async () => {
    const before = await snapshot();
    const body = signedForm(JSON.stringify({ id: 606 }));
    for (const lengths of [
      `Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`,
      `Content-Length: ${body.length}\r\nContent-Length: 5\r\n`,
    ]) {
      const response = await rawRequest(port, `${head(`${lengths}Connection: close\r\n`)}${body}`);
      expect(response.status).toBe(400);
    }
    expect(await snapshot()).toBe(before);
  });
});

describe("signatures", () => {
  const payload = JSON.stringify({
    id: 701,
    campaign: "signed",
    target_url: { default: "https://signed.example/" },
  });
  const right = sign(SALT, payload, SECRET);
  const attempt = (action: "create" | "delete", pepper: string | null, salt: string | null = SALT) =>
    callApi(service.url, action, { payload, salt, pepper });

  test.each([
    ["forged", "0123456789abcdef0123456789abcdef01234567", SALT],
    ["truncated", right.slice(0, -1), SALT],
    ["empty", "", SALT],
    ["missing", null, SALT],
    ["upper-cased", right.toUpperCase(), SALT],
    ["made with another secret", sign(SALT, payload, "another-secret"), SALT],
    ["made for another salt", sign("salt-2", payload, SECRET), SALT],
    ["right, but without X-API-SALT", right, null],
    ["right for its salt, but sent with an empty X-API-SALT", right, ""],
    ["padded to the right length with non-ASCII", `${right.slice(0, 38)}é`, SALT],
  ] as Array<[string, string | null, string | null]>)("%s: 404, nothing changes", async (_, pepper, salt) => {
    const before = await snapshot();
    for (const action of ["create", "delete"] as const) {
      const response = await attempt(action, pepper, salt);
      expect(response.status).toBe(404);
    }
    expect(await snapshot()).toBe(before);
  });

  test("replayed with another body: 404, nothing changes", async () => {
    const before = await snapshot();
    const other = JSON.stringify({
      id: HOSTILE_LINK.id,
      target_url: { default: "https://attacker.example/" },
    });
    const response = await callApi(service.url, "create", { payload: other, salt: SALT, pepper: right });
    expect(response.status).toBe(404);
    expect(await snapshot()).toBe(before);
    expect((await click(service.url, `/click/${HOSTILE_LINK.id}/go`)).headers.get("location")).toBe(
      HOSTILE_LINK.target,
    );
  });

  test("any one character changed in a right pepper: 404, nothing changes", async () => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: right.length - 1 }),
        fc.constantFrom(..."0123456789abcdefABCDEF g"),
        async (at, replacement) => {
          fc.pre(right[at] !== replacement);
          const pepper = `${right.slice(0, at)}${replacement}${right.slice(at + 1)}`;
          expect((await attempt("create", pepper)).status).toBe(404);
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
    expect(await snapshot()).toBe(before);
  });

  test("the right signature is accepted (the refusals above are not for some other reason)", async () => {
    expect((await attempt("create", right)).status).toBe(200);
    expect((await click(service.url, "/click/701/go")).headers.get("location")).toBe(
      "https://signed.example/",
    );
  });

  test("the comparison is of the whole pepper, in constant time, whatever differs where", () => {
    expect(verifySignature("s", "p", SECRET, sign("s", "p", SECRET))).toBe(true);
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string({ maxLength: 45 }), (salt, body, pepper) => {
        fc.pre(pepper !== sign(salt, body, SECRET));
        expect(verifySignature(salt, body, SECRET, pepper)).toBe(false);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

describe("prototype keys in the JSON", () => {
  test("__proto__ and constructor at the top change nothing beyond the link's own fields", async () => {
    const before = await snapshot();
    const payload = `{"id":801,"campaign":"own","__proto__":{"campaign":"polluted","network":"polluted","id":802,"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":{"polluted":true}}`;
    expect((await callApi(service.url, "create", { payload, secret: SECRET })).status).toBe(200);

    const links = await createLinkRepository(database.db).all();
    const created = links.find((link) => link.id === 801);
    expect(created?.campaign).toBe("own");
    expect(created?.network).toBeNull();
    expect(links.some((link) => link.id === 802)).toBe(false);
    expect(JSON.stringify(links.filter((link) => link.id !== 801).sort((a, b) => a.id - b.id))).toBe(before);
    // The service runs in this process: a polluted prototype would show here.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("campaign");
  });

  test.each([
    ["__proto__", `{"id":803,"target_url":{"__proto__":"https://a.example/"}}`],
    ["__proto__ holding an object", `{"id":803,"target_url":{"__proto__":{"ios":"https://a.example/"}}}`],
    [
      "constructor",
      `{"id":803,"target_url":{"default":"https://a.example/","constructor":"https://b.example/"}}`,
    ],
    ["prototype", `{"id":803,"target_url":{"prototype":"https://a.example/"}}`],
  ])(
    "a target_url key named %s is refused with 400 naming target_url, nothing changes",
    async (_, payload) => {
      const before = await snapshot();
      const response = await callApi(service.url, "create", { payload, secret: SECRET });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { field: string }).field).toBe("target_url");
      expect(await snapshot()).toBe(before);
    },
  );
});

describe("target URLs that could inject a header or run code", () => {
  const refused = [
    "https://a.example/\r\nSet-Cookie: session=stolen",
    "https://a.example/\nLocation: https://evil.example/",
    "https://a.example/\r",
    "https://a.example/ x",
    " https://a.example/",
    "https://a.example/\t",
    "https://a.example/\u0000",
    "https://a.example/\u2028",
    "https://a.example/é",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example/",
    "http:evil.example",
    "https://",
    "",
  ];

  test.each(refused.map((url) => [JSON.stringify(url), url]))(
    "%s as a target or campaign URL: 400, nothing changes",
    async (_, url) => {
      const before = await snapshot();
      for (const link of [
        { id: 901, target_url: { default: url } },
        { id: 901, target_url: { ios: "https://ok.example/", android: url } },
        { id: 901, campaign_url: url },
      ]) {
        const response = await create(link);
        expect(response.status).toBe(400);
      }
      expect(await snapshot()).toBe(before);
    },
  );

  test("any URL with a space, control or non-ASCII character in it is refused; any other web URL is the Location as given", async () => {
    const bad = fc.constantFrom("\r", "\n", "\r\n", " ", "\t", "\0", "\x7f", "é", "\u2028", "\u00a0");
    await fc.assert(
      fc.asyncProperty(
        fc.webUrl({ withQueryParameters: true, withFragments: true }),
        fc.option(fc.tuple(fc.nat(), bad)),
        async (url, injection) => {
          if (injection === null) {
            expect((await create({ id: 902, target_url: { default: url } })).status).toBe(200);
            expect((await click(service.url, "/click/902/go")).headers.get("location")).toBe(url);
            return;
          }
          const [at, char] = injection;
          const position = at % (url.length + 1);
          const injected = `${url.slice(0, position)}${char}${url.slice(position)}`;
          const before = await snapshot();
          expect((await create({ id: 902, target_url: { default: injected } })).status).toBe(400);
          expect(await snapshot()).toBe(before);
        },
      ),
      { seed: SEED, numRuns: 80 },
    );
  }, 30_000);
});

describe("strings the database cannot keep exactly", () => {
  test("a NUL and a lone surrogate in campaign (a 500 once): 400 naming campaign, nothing changes", async () => {
    const before = await snapshot();
    const response = await callApi(service.url, "create", {
      payload: '{"id":1094932888,"campaign":"\\u0000\\ud800"}',
      secret: SECRET,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      status: "error",
      field: "campaign",
      error: "campaign must not contain NUL (U+0000)",
    });
    expect(await snapshot()).toBe(before);
  });

  test.each([
    [
      "a lone surrogate in a target_url key",
      '{"id":1001,"target_url":{"\\ud800":"https://a.example/"}}',
      "target_url",
    ],
    [
      "a NUL in a target_url key",
      '{"id":1001,"target_url":{"ios\\u0000":"https://a.example/"}}',
      "target_url",
    ],
    ["a lone low surrogate in network", '{"id":1001,"network":"n\\udc00"}', "network"],
    ["a surrogate pair reversed in device", '{"id":1001,"device":"\\ude00\\ud83d"}', "device"],
    [
      "a NUL in a target URL",
      '{"id":1001,"target_url":{"ios":"https://a.example/\\u0000"}}',
      "target_url.ios",
    ],
    ["a country over 1024 characters", `{"id":1001,"country":"${"c".repeat(1025)}"}`, "country"],
  ])("%s: 400 naming the field, nothing changes", async (_, payload, field) => {
    const before = await snapshot();
    const response = await callApi(service.url, "create", { payload, secret: SECRET });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { field: string }).field).toBe(field);
    expect(await snapshot()).toBe(before);
  });

  test("a delete of an id the table cannot hold is a 400, not a database error", async () => {
    for (const id of ["2147483648", "99999999999", "1e308", "-0", "0"]) {
      const response = await callApi(service.url, "delete", { payload: `{"id":${id}}`, secret: SECRET });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { field: string }).field).toBe("id");
    }
  });

  test("any link, with NULs, lone surrogates and odd lengths in any field: 200 or 400, never a 5xx; kept exactly when accepted", async () => {
    const repository = createLinkRepository(database.db);
    await fc.assert(
      fc.asyncProperty(hostileLink, async (linkCase) => {
        const outcome = await runHostileLink(service.url, SECRET, repository, backends.redis, linkCase);
        expect(outcome.problems).toEqual([]);
      }),
      { seed: SEED, numRuns: 300 },
    );
  }, 60_000);
});

test("none of the refusals above was logged as an error: a hostile request is not a failure of ours", () => {
  expect(logs.entries().filter((entry) => (entry.level as number) >= 50)).toEqual([]);
});

import fc from "fast-check";
import { CLICK_QUEUE } from "../../src/clickstore/clickstore";
import { openPostgres } from "../../src/db/database";
import { MAX_CLICK_QUERY_BYTES } from "../../src/http/limits";
import { createLinkRepository } from "../../src/links/repository";
import { eventProblems, parseEvent } from "./consumer";
import { sharedPostgres } from "./postgres";
import { rawRequest } from "./raw-http";
import { RedisServer } from "./redis";
import { migrate } from "./service";

/**
 * Hostile clicks: fast-check generators of requests that anyone on the internet can send to a
 * click URL, and the check that the service answered each one properly. Shared by the property
 * tests (test/hostile/) and the long seeded fuzz run (bench/fuzz.ts).
 */

/** Bun 1.4.5 answers 431 itself to a request head (request line + headers) larger than this. */
export const BUN_MAX_HEAD_BYTES = 16 * 1024;

/** The one link every hostile click aims at. */
export const HOSTILE_LINK = { id: 4242, target: "https://app.example/landing?from=ad" } as const;

/** Postgres with the hostile link in it, and a Redis clickstore: all a click service needs. */
export interface ClickBackends {
  databaseUrl: string;
  redis: RedisServer;
  stop(): Promise<void>;
}

export async function startClickBackends(): Promise<ClickBackends> {
  const databaseUrl = await (await sharedPostgres()).createDatabase();
  await migrate(databaseUrl);
  const database = openPostgres(databaseUrl);
  try {
    await createLinkRepository(database.db).upsert({
      id: HOSTILE_LINK.id,
      campaign: "hostile",
      network: "fuzz",
      targetUrl: { default: HOSTILE_LINK.target },
      attributionWindowFingerprint: 60,
      attributionWindowIdfa: 1440,
    });
  } finally {
    await database.close();
  }
  const redis = await RedisServer.start();
  return { databaseUrl, redis, stop: () => redis.stop() };
}

// ---- generators -----------------------------------------------------------------------------

/** How a well-formed form encoder writes a string: UTF-8 percent-encoding, space as `+`. */
export function formEncode(text: string): string {
  return encodeURIComponent(text).replaceAll("%20", "+");
}

/** Query fragments that have broken decoders before: invalid and partial escapes, controls, separators. */
const ADVERSARIAL = [
  "",
  "%zz",
  "%C3",
  "%",
  "%%",
  "%%%41",
  "%E2%82",
  "%ED%A0%80",
  "%F4%90%80%80",
  "%C0%AF",
  "%FF%FE",
  "%00",
  "%0D%0A",
  "%0A",
  "%0D",
  "%09",
  "%0B%0C",
  "%1B[31m",
  "%7F",
  "%20",
  "+",
  "++",
  "a+b",
  "%2B",
  "=",
  "==",
  "%3D",
  "%26",
  "?",
  "/",
  "~",
  "#",
  "%23",
  "%EF%BB%BF",
  "%E2%80%A8",
  "%E2%80%A9",
  "%C2%85",
  "%C2%A0",
  "%E3%80%80",
  "%F0%9F%98%80",
  "%25",
  "%2525",
  "%u0041",
  "\"'<>",
  "\\`{|}^[]",
  "javascript:alert(1)",
  "..%2F..%2F",
  "$%7Bjndi:ldap://x%7D",
];

const KNOWN_KEYS = ["id", "adid", "idfa", "gadid", "click", "idfa_md5", "idfa_sha1", "partner_data", "cb"];

/** One character from any of the 17 Unicode planes (surrogate halves cannot be encoded, so none). */
const anyPlaneCharacter = fc
  .tuple(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 0xffff }))
  .map(([plane, low]) => plane * 0x10000 + low)
  .filter((codePoint) => codePoint < 0xd800 || codePoint > 0xdfff)
  .map((codePoint) => String.fromCodePoint(codePoint));

/** Text a real client could mean: any code point, with the characters forms treat specially. */
export const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.string({ unit: anyPlaneCharacter, maxLength: 12 }),
  fc.string({
    unit: fc.constantFrom(
      " ",
      "+",
      "&",
      "=",
      "%",
      "\0",
      "\t",
      "\r",
      "\n",
      "\u2028",
      "\u00a0",
      "é",
      "€",
      "😀",
    ),
    maxLength: 12,
  }),
);

const identifier = fc.oneof(
  fc.uuid().map((uuid) => uuid.toUpperCase()),
  fc.uuid().map((uuid) => uuid.replaceAll("-", "")),
  fc.stringMatching(/^[0-9a-f]{32}$/),
  fc.stringMatching(/^[0-9a-f]{40}$/),
  fc.constantFrom("fubar", "00000000-0000-0000-0000-000000000000", "%20", "+"),
);

/** A query component exactly as it appears in the URL, hostile or not. */
const component = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ADVERSARIAL) },
  { weight: 4, arbitrary: anyText.map(formEncode) },
  { weight: 2, arbitrary: identifier },
  {
    weight: 2,
    arbitrary: fc.array(fc.constantFrom(...ADVERSARIAL), { maxLength: 5 }).map((parts) => parts.join("")),
  },
  { weight: 1, arbitrary: fc.integer({ min: 500, max: 4000 }).map((length) => "x".repeat(length)) },
);

const key = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KNOWN_KEYS) },
  { weight: 2, arbitrary: component },
);

const pair = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(key, component).map(([name, value]) => `${name}=${value}`) },
  { weight: 1, arbitrary: key },
  { weight: 1, arbitrary: component.map((value) => `=${value}`) },
  { weight: 1, arbitrary: fc.tuple(key, component, component).map(([name, a, b]) => `${name}=${a}=${b}`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(key, fc.array(component, { minLength: 2, maxLength: 4 }))
      .map(([name, values]) => values.map((value) => `${name}=${value}`).join("&")),
  },
  { weight: 1, arbitrary: fc.constant("") },
);

/** Near and over the 414 limit. */
const hugeQuery = fc
  .tuple(
    fc.integer({ min: MAX_CLICK_QUERY_BYTES - 64, max: MAX_CLICK_QUERY_BYTES + 4096 }),
    fc.constantFrom("a", "%E2%82%AC", "%zz", "+", "&"),
  )
  .map(([length, unit]) => `q=${unit.repeat(Math.ceil(length / unit.length))}`.slice(0, length));

/** The part after `?`; undefined: no `?` at all. */
export const hostileQuery = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 12, arbitrary: fc.array(pair, { maxLength: 12 }).map((pairs) => pairs.join("&")) },
  { weight: 1, arbitrary: hugeQuery },
);

type IdKind = "known" | "unknown" | "any";

const linkId = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ raw: String(HOSTILE_LINK.id), kind: "known" as IdKind }) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }).filter((id) => id !== HOSTILE_LINK.id),
        fc.constantFrom(2 ** 31, 99999999999, -1),
      )
      .map((id) => ({ raw: String(id), kind: "unknown" as IdKind })),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(component, fc.constantFrom("", "%34%32%34%32", "04242", "4242.0", "0x1092", "4242%00"))
      .map((raw) => ({ raw, kind: "any" as IdKind })),
  },
);

/** A User-Agent header as bytes; undefined: no header at all. */
interface AgentBytes {
  bytes: Uint8Array | undefined;
  /** What the event must carry as its UA, when that can be known in advance. */
  expected: string | undefined;
  /** Bytes no HTTP parser may accept in a header (CR, LF, NUL, other controls). */
  malformed: boolean;
}

const REAL_AGENTS = [
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  "iPhone",
  "Banana",
];

const bytesOf = (text: string) => new TextEncoder().encode(text);
const latin1 = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));
/** Bun trims spaces and tabs around a header value (RFC 9110's optional whitespace). */
const trimmed = (text: string) => text.replace(/^[ \t]+|[ \t]+$/g, "");

const printableAgent = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
    fc.constant("\t"),
  ),
  maxLength: 200,
});

const userAgent: fc.Arbitrary<AgentBytes> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ bytes: undefined, expected: "", malformed: false }) },
  { weight: 1, arbitrary: fc.constant({ bytes: new Uint8Array(), expected: "", malformed: false }) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(...REAL_AGENTS)
      .map((agent) => ({ bytes: bytesOf(agent), expected: agent, malformed: false })),
  },
  {
    weight: 3,
    arbitrary: printableAgent.map((agent) => ({
      bytes: bytesOf(agent),
      expected: trimmed(agent),
      malformed: false,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...REAL_AGENTS).map((agent) => {
      const long = `${agent} ${"x".repeat(8 * 1024)}`.slice(0, 8 * 1024);
      return { bytes: bytesOf(long), expected: long, malformed: false };
    }),
  },
  {
    // Not UTF-8: Bun reads header bytes as Latin-1; only the event's shape can be known in advance.
    weight: 2,
    arbitrary: fc
      .array(fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0x20, max: 0x7f })), {
        minLength: 1,
        maxLength: 64,
      })
      .map((codes) => ({ bytes: Uint8Array.from(codes), expected: undefined, malformed: false })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        printableAgent,
        fc.constantFrom("\r", "\n", "\0", "\x01", "\x1b", "\r\n X-Folded: 1"),
        printableAgent,
      )
      .map(([before, bad, after]) => ({
        bytes: latin1(`a${before}${bad}${after}`),
        expected: undefined,
        malformed: true,
      })),
  },
);

/** Proxy headers a client may send to fake its address; the service trusts none of them by default. */
const proxyHeaders = fc.array(
  fc.tuple(
    fc.constantFrom("X-Forwarded-For", "Fly-Client-IP", "X-Real-IP"),
    fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.array(fc.ipV4(), { minLength: 2, maxLength: 4 }).map((list) => list.join(", ")),
      component,
    ),
  ),
  { maxLength: 2 },
);

export interface HostileClick {
  /** How the request was built, for reports. */
  description: string;
  /** The request exactly as sent. */
  bytes: Uint8Array;
  /** Every status that is a right answer to it. */
  expected: number[];
  /** What makes it invalid HTTP, which Bun's parser refuses before the service sees it. */
  malformed: "request line" | "header" | undefined;
  /** The UA the event must carry, when it can be known in advance. */
  userAgent: string | undefined;
}

/** A control byte in the request line, or a high byte that Bun reads as U+FFFD. */
const strayByte = fc.record({
  at: fc.nat(),
  byte: fc.oneof(fc.integer({ min: 0, max: 0x20 }), fc.integer({ min: 0x80, max: 0xff })),
});

/**
 * The query's length as the service sees it: Bun hands over `"`, `'`, `<` and `>` percent-encoded,
 * and a stray byte above 0x7f (never valid UTF-8 alone) as the escaped U+FFFD.
 */
function servedQueryLength(target: Uint8Array): number {
  const question = target.indexOf(0x3f);
  if (question === -1) return 0;
  let length = 0;
  for (const byte of target.subarray(question + 1)) {
    length += byte >= 0x80 ? 9 : byte === 0x22 || byte === 0x27 || byte === 0x3c || byte === 0x3e ? 3 : 1;
  }
  return length;
}

export const hostileClick: fc.Arbitrary<HostileClick> = fc
  .record({
    id: linkId,
    query: hostileQuery,
    agent: userAgent,
    proxy: proxyHeaders,
    stray: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: strayByte }),
  })
  .map(({ id, query: rawQuery, agent, proxy, stray }) => {
    const path = `/click/${id.raw}/go`;
    let target = Buffer.from(rawQuery === undefined ? path : `${path}?${rawQuery}`, "latin1");
    let malformedLine = false;
    if (stray !== null) {
      // Into the query, so that a high byte changes what is decoded, not which route answers.
      const queryStart = path.length + 1;
      const at = queryStart + (stray.at % (target.length - queryStart + 1));
      const head = rawQuery === undefined ? Buffer.from(`${path}?`, "latin1") : target.subarray(0, at);
      target = Buffer.concat([head, Uint8Array.of(stray.byte), target.subarray(head.length)]);
      malformedLine = stray.byte <= 0x20;
    }
    const parts: Uint8Array[] = [
      Buffer.from("GET "),
      target,
      Buffer.from(" HTTP/1.1\r\nHost: clicks.test\r\n"),
    ];
    if (agent.bytes !== undefined) parts.push(Buffer.from("User-Agent: "), agent.bytes, Buffer.from("\r\n"));
    for (const [name, value] of proxy) parts.push(Buffer.from(`${name}: ${value}\r\n`, "latin1"));
    parts.push(Buffer.from("Connection: close\r\n\r\n"));
    const bytes = Buffer.concat(parts);

    const queryBytes = servedQueryLength(target);
    const expected = malformedLine
      ? [400, 505]
      : agent.malformed
        ? [400]
        : bytes.length > BUN_MAX_HEAD_BYTES
          ? [431]
          : id.kind === "any"
            ? [307, 404, 414]
            : queryBytes > MAX_CLICK_QUERY_BYTES
              ? [414]
              : id.kind === "known"
                ? [307]
                : [404];
    const description = [
      `id ${id.kind} ${JSON.stringify(id.raw.slice(0, 40))}`,
      `query ${queryBytes} bytes ${JSON.stringify((rawQuery ?? "(none)").slice(0, 160))}`,
      `ua ${agent.bytes === undefined ? "missing" : `${agent.bytes.length} bytes${agent.malformed ? " with control bytes" : ""}`}`,
      stray === null ? "" : `stray byte 0x${stray.byte.toString(16)}`,
      proxy.length === 0 ? "" : `proxy headers ${JSON.stringify(proxy)}`.slice(0, 200),
    ]
      .filter(Boolean)
      .join("; ");
    const malformed = malformedLine ? "request line" : agent.malformed ? "header" : undefined;
    return { description, bytes, expected, malformed, userAgent: agent.expected };
  });

/** Parameters a well-behaved client sends: any text, names the click reads among them, repeats. */
export const wellFormedPairs = fc.array(
  fc.tuple(fc.oneof(fc.constantFrom(...KNOWN_KEYS), anyText), anyText),
  { maxLength: 10 },
);

/** The query string a form encoder makes of these pairs. */
export function formQuery(pairs: Array<[string, string]>): string {
  return pairs.map(([name, value]) => `${formEncode(name)}=${formEncode(value)}`).join("&");
}

// The parameters that are event fields of their own; the rest travel in reqparams.
const OWN_FIELDS = new Set(["id", "adid", "idfa", "gadid", "click", "idfa_md5", "idfa_sha1", "partner_data"]);

export interface QueryFields {
  click: string | null;
  partnerData: string | null;
  reqparams: Map<string, string>;
}

/** What the event must say about these pairs, by the foundation's rules (the last of a repeated key wins). */
export function expectedQueryFields(pairs: Array<[string, string]>): QueryFields {
  const last = new Map(pairs);
  const present = (name: string) => {
    const value = last.get(name);
    return value !== undefined && value.trim() !== "" ? value : undefined;
  };
  const reqparams = new Map([...last].filter(([name]) => !OWN_FIELDS.has(name)));
  return {
    click: last.get("click") ?? null,
    partnerData: present("partner_data") ?? present("cb") ?? null,
    reqparams,
  };
}

/** The same, read from an event the way a consumer reads it (reqparams decoded a second time). */
export function queryFieldsOf(event: string): QueryFields {
  const { params } = parseEvent(event);
  const reqparams = new Map<string, string>();
  const rendered = params.get("reqparams") ?? "";
  for (const pair of rendered === "" ? [] : rendered.split("&")) {
    const equals = pair.indexOf("=");
    reqparams.set(decodeURIComponent(pair.slice(0, equals)), decodeURIComponent(pair.slice(equals + 1)));
  }
  return { click: params.get("click") ?? null, partnerData: params.get("partner_data") ?? null, reqparams };
}

// ---- running and judging a case -------------------------------------------------------------

export interface ClickOutcome {
  status: number | undefined;
  /** The events this request wrote. */
  events: string[];
  /** Everything wrong with the answer or the events; empty when all is right. */
  problems: string[];
}

/** The peer address every event must carry: no header may set it while TRUST_PROXY is off. */
const PEER = "127.0.0.1";

/**
 * Sends one hostile click and judges it: an answer in time, an expected status (never a 5xx of
 * ours), exactly one well-formed event for a redirect and none otherwise, the ip from the socket.
 * Run cases one at a time: the events of a case are those on the queue after its answer.
 */
export async function runHostileClick(
  port: number,
  redis: RedisServer,
  click: HostileClick,
): Promise<ClickOutcome> {
  const response = await rawRequest(port, click.bytes, { timeoutMs: 5_000 });
  const events = (await redis.client().lpop(CLICK_QUEUE, 1_000)) ?? [];
  const problems: string[] = [];
  const { status } = response;
  if (status === undefined) problems.push("no answer");
  else if (!click.expected.includes(status))
    problems.push(`status ${status}, expected ${click.expected.join(" or ")}`);

  const eventsExpected = status === 307 ? 1 : 0;
  if (events.length !== eventsExpected) problems.push(`${events.length} events, expected ${eventsExpected}`);
  if (status === 307 && response.headers.get("location") !== HOSTILE_LINK.target) {
    problems.push(`location ${JSON.stringify(response.headers.get("location"))}`);
  }
  for (const event of events) {
    const eventWrong = eventProblems(event);
    for (const problem of eventWrong) problems.push(`event: ${problem}`);
    if (eventWrong.length > 0) continue;
    const parsed = parseEvent(event);
    if (parsed.ip !== PEER) problems.push(`event ip ${JSON.stringify(parsed.ip)}, expected the peer ${PEER}`);
    if (click.userAgent !== undefined && parsed.userAgent !== click.userAgent) {
      problems.push(
        `event UA ${JSON.stringify(parsed.userAgent.slice(0, 80))}, expected ${JSON.stringify(click.userAgent.slice(0, 80))}`,
      );
    }
  }
  return { status, events, problems };
}

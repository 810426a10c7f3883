import fc from "fast-check";
import { CLICK_QUEUE } from "../../src/clickstore/clickstore";
import type { CampaignLink } from "../../src/db/schema";
import type { LinkRepository } from "../../src/links/repository";
import { MAX_TEXT_LENGTH } from "../../src/links/text";
import { callApi } from "./api";
import { eventProblems, parseEvent } from "./consumer";
import { anyText, HOSTILE_LINK } from "./hostile";
import type { RedisServer } from "./redis";

/**
 * Hostile links: fast-check generators of what a holder of the API secret (or a buggy analytics
 * tool) can send to the link API, signed, and the check that the service answered each properly:
 * 200 or 400, never a 5xx; a link whose strings the database cannot keep exactly is refused; an
 * accepted one is stored exactly as sent and clicked into a well-formed event, then deleted. Shared by the
 * property tests (test/hostile/) and the seeded fuzz run (bench/fuzz.ts).
 */

const TEXT_FIELDS = ["campaign", "adgroup", "ad", "network", "country", "device"] as const;

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));

/** What PostgreSQL refuses (NUL) or cannot store as given (a surrogate without its pair). */
const refusedCharacter = fc.oneof(fc.constant("\0"), loneSurrogate);

const unstorable = (text: string) => text.includes("\0") || !text.isWellFormed();

/** Text the database keeps as given: any code point but NUL, noncharacters, controls, the longest allowed. */
const storableText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: anyText.filter((text) => !unstorable(text)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "\ud83d\ude00",
      "\ufffe\uffff\ufeff",
      "\u2028\u2029\u0085",
      "\u0001\u001f\u007f",
      "%00",
      "\\u0000",
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(MAX_TEXT_LENGTH - 1, MAX_TEXT_LENGTH), fc.constantFrom("a", "é", "😀"))
      .map(([length, unit]) => unit.repeat(length).slice(0, length))
      // An odd length of a pair would end in half of one.
      .filter((text) => !unstorable(text)),
  },
);

/** Text with a NUL or a surrogate without its pair somewhere in it, or one character too long. */
const unstorableText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(anyText, refusedCharacter, anyText)
      .map(([before, refused, after]) => `${before}${refused}${after}`),
  },
  {
    weight: 2,
    arbitrary: fc
      .string({
        unit: fc.oneof(fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), refusedCharacter),
        minLength: 1,
        maxLength: 12,
      })
      .filter(unstorable),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("\ude00\ud83d", "\ud83d", "\ude00", "\u0000", "\ud800\u0000\udc00"),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("a", "é", "😀")
      .map((unit) => unit.repeat(MAX_TEXT_LENGTH + 1).slice(0, MAX_TEXT_LENGTH + 1)),
  },
);

const oddValue = fc.constantFrom<unknown>(5, true, {}, [], "", -1, 1.5);

// Each field is wrong now and then, so that some links are accepted whole and some refused.
const textField = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 24, arbitrary: storableText },
  { weight: 3, arbitrary: unstorableText },
  { weight: 1, arbitrary: oddValue },
);

const url = fc.oneof(
  { weight: 16, arbitrary: fc.webUrl({ withQueryParameters: true }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.webUrl(), fc.nat(), fc.oneof(refusedCharacter, storableText, unstorableText))
      .map(
        ([base, at, inserted]) =>
          `${base.slice(0, at % (base.length + 1))}${inserted}${base.slice(at % (base.length + 1))}`,
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("itms-apps://itunes.apple.com/app/id1", "javascript:alert(1)", ""),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(8175, 8176, 8177).map((length) => `https://a.example/${"p".repeat(length)}`),
  },
);

const platform = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("ios", "android", "default", "fallback") },
  { weight: 4, arbitrary: storableText.filter((key) => key.length >= 1 && key.length <= 64) },
  { weight: 1, arbitrary: unstorableText },
);

const targetUrl = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 8,
    arbitrary: fc.array(fc.tuple(platform, url), { maxLength: 3 }).map((pairs) => Object.fromEntries(pairs)),
  },
  { weight: 1, arbitrary: oddValue },
);

// Never the link the hostile clicks aim at, which the fuzz run clicks between these cases.
const linkIdValue = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 2 ** 31 - 1 }).filter((id) => id !== HOSTILE_LINK.id) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(0, -1, 2 ** 31, 1e308, 1.5, "12", null) },
);

const minutes = fc.oneof(
  { weight: 4, arbitrary: fc.option(fc.integer({ min: 0, max: 2 ** 31 - 1 })) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-1, 2 ** 31, 0.5, "60") },
);

export interface HostileLinkCase {
  action: "create" | "delete";
  /** The link as sent (JSON.stringify writes a lone surrogate as its `\ud800` escape, a NUL as `\u0000`). */
  link: Record<string, unknown>;
  /** The campaign_link parameter exactly as sent. */
  payload: string;
  description: string;
}

export const hostileLink: fc.Arbitrary<HostileLinkCase> = fc
  .record({
    action: fc.constantFrom<"create" | "delete">("create", "create", "create", "delete"),
    id: linkIdValue,
    names: fc.tuple(...TEXT_FIELDS.map(() => textField)),
    campaignUrl: fc.option(url),
    targetUrl,
    windows: fc.tuple(minutes, minutes),
    userId: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  })
  .map(({ action, id, names, campaignUrl, targetUrl: targets, windows, userId }) => {
    const link: Record<string, unknown> = { id };
    TEXT_FIELDS.forEach((name, index) => {
      if (names[index] !== undefined) link[name] = names[index];
    });
    if (campaignUrl !== null) link.campaign_url = campaignUrl;
    if (targets !== undefined) link.target_url = targets;
    if (windows[0] !== null) link.attribution_window_fingerprint = windows[0];
    if (windows[1] !== null) link.attribution_window_idfa = windows[1];
    if (userId !== null) link.user_id = userId;
    const payload = JSON.stringify(action === "create" ? link : { id });
    return { action, link, payload, description: `${action} ${payload.slice(0, 300)}` };
  });

/** The link's strings that the database cannot keep exactly: each must get the link refused. */
export function unstorableFields(link: Record<string, unknown>): string[] {
  const fields: string[] = [];
  for (const name of TEXT_FIELDS) {
    const value = link[name];
    if (typeof value === "string" && (unstorable(value) || value.length > MAX_TEXT_LENGTH)) fields.push(name);
  }
  const targets = link.target_url;
  if (typeof targets === "object" && targets !== null) {
    for (const [key, value] of Object.entries(targets)) {
      if (unstorable(key) || (typeof value === "string" && unstorable(value))) fields.push("target_url");
    }
  }
  if (typeof link.campaign_url === "string" && unstorable(link.campaign_url)) fields.push("campaign_url");
  return fields;
}

export interface LinkOutcome {
  status: number | undefined;
  problems: string[];
}

/** What the database holds for the link, in the API's field names. */
function asSent(stored: CampaignLink): Record<string, unknown> {
  return {
    campaign: stored.campaign,
    adgroup: stored.adgroup,
    ad: stored.ad,
    network: stored.network,
    country: stored.country,
    device: stored.device,
    campaign_url: stored.campaignUrl,
    target_url: stored.targetUrl,
  };
}

/**
 * Sends one hostile link, signed, and judges it: 200 or 400 (never a 5xx); a link with a string the
 * database cannot keep is refused naming a field; an accepted create is stored exactly as sent and a
 * click on it writes one well-formed event carrying its names; an accepted delete removed it.
 */
export async function runHostileLink(
  base: string,
  secret: string,
  repository: LinkRepository,
  redis: RedisServer,
  linkCase: HostileLinkCase,
): Promise<LinkOutcome> {
  const problems: string[] = [];
  let response: Response;
  try {
    response = await callApi(base, linkCase.action, { payload: linkCase.payload, secret });
  } catch (error) {
    return { status: undefined, problems: [`no answer: ${String(error)}`] };
  }
  const { status } = response;
  const body = (await response.json().catch(() => ({}))) as { field?: string };
  if (status !== 200 && status !== 400) problems.push(`status ${status}, expected 200 or 400`);
  const { link } = linkCase;
  const refusable = linkCase.action === "create" ? unstorableFields(link) : [];
  if (refusable.length > 0 && status !== 400) {
    problems.push(`status ${status} for a link the database cannot keep (${refusable.join(", ")})`);
  }
  // Another field may be wrong too, and be named first: the 400 must name one the request has.
  const named = body.field?.split(".")[0];
  if (status === 400 && (named === undefined || !(named in link || named === "campaign_link"))) {
    problems.push(`400 names ${JSON.stringify(body.field)}, no field of the request`);
  }
  if (status !== 200 || typeof link.id !== "number") return { status, problems };

  const stored = await repository.byId(link.id);
  if (linkCase.action === "delete") {
    if (stored !== undefined) problems.push("deleted, but still stored");
    return { status, problems };
  }
  if (stored === undefined) return { status, problems: [...problems, "accepted, but not stored"] };
  const sent = {
    ...Object.fromEntries(TEXT_FIELDS.map((name) => [name, link[name] ?? null])),
    campaign_url: link.campaign_url ?? null,
    target_url: link.target_url ?? {},
  };
  if (!Bun.deepEquals(asSent(stored), sent)) {
    problems.push(
      `stored ${JSON.stringify(asSent(stored)).slice(0, 300)}, sent ${JSON.stringify(sent).slice(0, 300)}`,
    );
  }

  await redis.clear();
  const clicked = await fetch(`${base}/click/${link.id}/go`, { redirect: "manual" });
  await clicked.arrayBuffer();
  const events = (await redis.client().lpop(CLICK_QUEUE, 1_000)) ?? [];
  if (clicked.status !== 307 && clicked.status !== 404) problems.push(`click: status ${clicked.status}`);
  if (events.length !== 1) problems.push(`click: ${events.length} events, expected 1`);
  for (const event of events) {
    const wrong = eventProblems(event);
    problems.push(...wrong.map((problem) => `click event: ${problem}`));
    if (wrong.length > 0) continue;
    const { params } = parseEvent(event);
    for (const name of ["campaign", "adgroup", "ad", "network"] as const) {
      const value = params.get(name) ?? null;
      if (value !== (stored[name] ?? null)) {
        problems.push(
          `click event: ${name} ${JSON.stringify(value)}, stored ${JSON.stringify(stored[name])}`,
        );
      }
    }
  }
  // Gone again, through the API so that this service forgets it before answering: an id a hostile
  // click then aims at as unknown must still be unknown.
  const removed = await callApi(base, "delete", { payload: JSON.stringify({ id: link.id }), secret });
  if (removed.status !== 200) problems.push(`delete after the case: status ${removed.status}`);
  return { status, problems };
}

import type { ZeroedAdid } from "../config";
import type { CampaignLink } from "../db/schema";
import { isoSeconds } from "./clock";
import { encodeQuery } from "./encoding";
import { type ClickFields, eventLine, eventQuery } from "./event";
import { advertisingId, idfaComb, idfaCombWithoutZeroed, isZeroedId } from "./identifiers";
import { createLocator } from "./location";
import { createCrawlerDetector } from "./platform";
import { firstPresent, parseQuery, type Query } from "./query";
import { type IsDead, liveTarget, resolveRedirect } from "./redirect";

/** What the click needs from the HTTP request, already resolved (ip after proxy rules). */
export interface ClickRequest {
  rawQuery: string;
  ip: string;
  userAgent: string;
  nowMs: number;
}

export interface ComposedClick {
  event: string;
  platform: string;
  /** The Location, exactly as the event's redirect_url says. Undefined: nowhere to send the person (404). */
  redirectUrl: string | undefined;
  /** False: the link has no URL for this platform (the person goes to NOT_FOUND_URL, if any). */
  hasTarget: boolean;
  /** An identifier was sent but none was usable; counted in the metrics. */
  invalidIdfa: boolean;
  /** The device id the original matches on is all-zero (the device opted out of tracking); counted. */
  zeroedAdid: boolean;
  /** A crawler or link-preview fetcher, not a person (NON_HUMAN_CLICKS). */
  crawler: boolean;
  /** The platform's target is one the destination checks found dead. */
  deadTarget: boolean;
  /** Sent elsewhere than the platform's target, because that one is dead. */
  rerouted: boolean;
}

export interface ClickComposerOptions {
  detectPlatform: (userAgent: string) => string;
  notFoundUrl: string | undefined;
  /** A unique, time-ordered id per click so consumers can drop at-least-once duplicates. */
  newClickId?: () => string;
  /** What an all-zero advertising id is (ZEROED_ADID); default `keep`, as the original. */
  zeroedAdid?: ZeroedAdid;
  /** Set while destinations are checked: is this target dead? */
  isDead?: IsDead;
  /** A click whose target is dead goes to a live one of the link's (DEAD_DESTINATION_FALLBACK). */
  reroute?: boolean;
  /** PLAY_REFERRER: the click id goes into a Google Play listing's install referrer. Default on. */
  playReferrer?: boolean;
}

// Parameters that become event fields of their own; everything else travels in reqparams.
const OWN_FIELDS = new Set(["id", "adid", "idfa", "gadid", "click", "idfa_md5", "idfa_sha1", "partner_data"]);
const PARTNER_DATA_KEYS = ["partner_data", "cb"] as const;

function reqparams(query: Query): string {
  const rest: Array<[string, string]> = [];
  for (const entry of query) if (!OWN_FIELDS.has(entry[0])) rest.push(entry);
  return rest.length === 0 ? "" : encodeQuery(rest);
}

function md5Hex(text: string): string {
  // The one-shot form: no hasher object per click.
  return Bun.MD5.hash(text, "hex");
}

/** The click, from request to event string and redirect target, as one plain function. */
export function createClickComposer(options: ClickComposerOptions) {
  const { detectPlatform, notFoundUrl, isDead } = options;
  const reroute = options.reroute === true;
  const newClickId = options.newClickId ?? (() => Bun.randomUUIDv7());
  const locate = createLocator({ playReferrer: options.playReferrer ?? true });
  const zeroedIsNoId = options.zeroedAdid === "fingerprint";
  const isCrawler = createCrawlerDetector();

  return function composeClick(link: CampaignLink, request: ClickRequest): ComposedClick {
    const query = parseQuery(request.rawQuery);
    const platform = detectPlatform(request.userAgent);
    const adid = advertisingId(query);
    const idfaMd5 = query.get("idfa_md5");
    const idfaSha1 = query.get("idfa_sha1");
    const sent = idfaComb(adid, idfaMd5, idfaSha1);
    const zeroedAdid = sent.kind === "valid" && isZeroedId(sent.value);
    const comb = zeroedAdid && zeroedIsNoId ? idfaCombWithoutZeroed(adid, idfaMd5, idfaSha1) : sent;
    const combined = comb.kind === "valid" ? comb.value : undefined;
    const lookupKey = md5Hex((combined ?? `${request.ip}.${platform}`).toLowerCase());

    const seconds = Math.floor(request.nowMs / 1000);
    const windowMinutes =
      (combined === undefined ? link.attributionWindowFingerprint : link.attributionWindowIdfa) ?? 0;
    const createdAt = isoSeconds(seconds);
    const chosen = resolveRedirect(link, platform);
    const deadTarget = chosen !== undefined && isDead?.(chosen) === true;
    const target = deadTarget && reroute ? liveTarget(link, chosen, isDead) : chosen;

    const fields: ClickFields = {
      adid,
      attrWindowFrom: createdAt,
      attrWindowTill: isoSeconds(seconds + windowMinutes * 60),
      click: query.get("click"),
      clickId: newClickId(),
      createdAt,
      idfaComb: combined,
      lookupKey,
      partnerData: firstPresent(query, PARTNER_DATA_KEYS),
      redirectUrl: target ?? notFoundUrl,
      redirectEncoded: undefined,
      reqparams: reqparams(query),
    };
    // The Location is built from the event's own values (its click_id among them), so that the
    // event says exactly where the person went.
    if (target !== undefined) locate(link, target, fields, platform, seconds, request.rawQuery);
    return {
      event: eventLine(request.ip, seconds, eventQuery(link, fields), request.userAgent),
      platform,
      redirectUrl: fields.redirectUrl,
      hasTarget: target !== undefined,
      invalidIdfa: comb.kind === "invalid",
      zeroedAdid,
      // The detector gives a crawler no platform: only those UAs need asking.
      crawler: platform === "" && isCrawler(request.userAgent),
      deadTarget,
      rerouted: target !== chosen,
    };
  };
}

export type ComposeClick = ReturnType<typeof createClickComposer>;

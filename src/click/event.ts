import type { CampaignLink } from "../db/schema";
import { encodeComponent, encodePair } from "./encoding";

/**
 * The event string: a contract with the kafkastore, the in-app tracker and the attribution consumers.
 *
 *   <ip> <unix seconds> clicks /t/click <query> <user agent>
 *
 * `<query>` holds exactly the keys below, sorted by name, Addressable-encoded, so it never
 * contains a space; the user agent is everything after it and may contain spaces.
 */
export const EVENT_KEYS = [
  "ad",
  "adgroup",
  "adid",
  "attr_window_from",
  "attr_window_till",
  "campaign",
  "campaign_link_id",
  "click",
  "click_id",
  "created_at",
  "idfa_comb",
  "lookup_key",
  "network",
  "partner_data",
  "redirect_url",
  "reqparams",
  "user_id",
] as const;

/** What a click adds to its link's fields; undefined values are written as bare keys. */
export interface ClickFields {
  adid: string | undefined;
  attrWindowFrom: string;
  attrWindowTill: string;
  click: string | undefined;
  clickId: string;
  createdAt: string;
  idfaComb: string | undefined;
  lookupKey: string;
  partnerData: string | undefined;
  redirectUrl: string | undefined;
  /**
   * redirect_url's value, already encoded, when the URL carries this click's own values (macros,
   * install referrer): used as it is, never kept. Undefined: encoded here, once per link and URL.
   */
  redirectEncoded: string | undefined;
  /** Already rendered as a query string; encoded once more here, as the original did. */
  reqparams: string;
}

interface LinkFields {
  ad: string;
  adgroup: string;
  campaign: string;
  campaignLinkId: string;
  network: string;
  userId: string;
  /** `redirect_url=…` by redirect URL: a link sends its clicks to a handful of URLs. */
  redirects: Map<string, string>;
}

// A link's own fields are encoded once per link object, not once per click.
const linkFieldsCache = new WeakMap<CampaignLink, LinkFields>();

function linkFields(link: CampaignLink): LinkFields {
  let fields = linkFieldsCache.get(link);
  if (fields === undefined) {
    fields = {
      ad: encodePair("ad", link.ad),
      adgroup: encodePair("adgroup", link.adgroup),
      campaign: encodePair("campaign", link.campaign),
      campaignLinkId: `campaign_link_id=${link.id}`,
      network: encodePair("network", link.network),
      userId: encodePair("user_id", link.userId === null ? null : String(link.userId)),
      redirects: new Map(),
    };
    linkFieldsCache.set(link, fields);
  }
  return fields;
}

function redirectPair(own: LinkFields, url: string | undefined, encoded: string | undefined): string {
  if (url === undefined) return "redirect_url";
  if (encoded !== undefined) return `redirect_url=${encoded}`;
  let pair = own.redirects.get(url);
  if (pair === undefined) {
    pair = encodePair("redirect_url", url);
    own.redirects.set(url, pair);
  }
  return pair;
}

// Within a second every click shares created_at and, per attribution window, attr_window_till:
// a few distinct time strings, each encoded once.
const MAX_ENCODED_TIMES = 256;
const encodedTimes = new Map<string, string>();

function encodedTime(time: string): string {
  let encoded = encodedTimes.get(time);
  if (encoded === undefined) {
    encoded = encodeComponent(time);
    if (encodedTimes.size >= MAX_ENCODED_TIMES) encodedTimes.clear();
    encodedTimes.set(time, encoded);
  }
  return encoded;
}

/** The `<query>` field, keys in EVENT_KEYS order. */
export function eventQuery(link: CampaignLink, click: ClickFields): string {
  const own = linkFields(link);
  return `${own.ad}&${own.adgroup}&${encodePair("adid", click.adid)}&attr_window_from=${encodedTime(
    click.attrWindowFrom,
  )}&attr_window_till=${encodedTime(click.attrWindowTill)}&${own.campaign}&${
    own.campaignLinkId
  }&${encodePair("click", click.click)}&click_id=${click.clickId}&created_at=${encodedTime(
    click.createdAt,
  )}&${encodePair("idfa_comb", click.idfaComb)}&lookup_key=${click.lookupKey}&${
    own.network
  }&${encodePair("partner_data", click.partnerData)}&${redirectPair(
    own,
    click.redirectUrl,
    click.redirectEncoded,
  )}&reqparams=${encodeComponent(click.reqparams)}&${own.userId}`;
}

const LINE_BREAKS = /[\r\n]/g;

/** The whole line pushed to the click queue. */
export function eventLine(ip: string, unixSeconds: number, query: string, userAgent: string): string {
  const agent =
    userAgent.includes("\r") || userAgent.includes("\n") ? userAgent.replace(LINE_BREAKS, "") : userAgent;
  return `${ip} ${unixSeconds} clicks /t/click ${query} ${agent}`;
}

const CLICK_ID_KEY = "&click_id=";
const CLICK_ID_LENGTH = 36;

/** The click_id of an event line, for logs that must name the clicks they are about. */
export function clickIdOf(event: string): string | undefined {
  const at = event.indexOf(CLICK_ID_KEY);
  return at === -1
    ? undefined
    : event.slice(at + CLICK_ID_KEY.length, at + CLICK_ID_KEY.length + CLICK_ID_LENGTH);
}

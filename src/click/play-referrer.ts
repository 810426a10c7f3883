import { encodeComponent } from "./encoding";
import { decodeFormComponent } from "./query";

/**
 * Google Play keeps the `referrer` parameter of a listing URL and hands its decoded value to the
 * installed app (the Play Install Referrer API): the click id travels there, so the install can be
 * joined to its click exactly.
 */

const PLAY_ORIGIN = "https://play.google.com";
const PLAY_PATH = "/store/apps/details";
const MARKET = "market://details";
const REFERRER = "referrer";
const CLICK_ID = "click_id";
// `click_id=` encoded as one query component.
const CLICK_ID_ENCODED = "click_id%3D";

// Scheme and host are case-insensitive. The prefixes are lower-case letters and `:/.` only, which
// `| 0x20` leaves as they are and which no printable character other than themselves becomes.
function startsWithIgnoringCase(url: string, prefix: string): boolean {
  if (url.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if ((url.charCodeAt(i) | 0x20) !== prefix.charCodeAt(i)) return false;
  }
  return true;
}

/** Where a listing's path ends (its query or fragment begins there), or -1 for any other URL. */
function listingPathEnd(url: string): number {
  // Every click's target passes here: most are told apart by their first character, or by the
  // ninth (`p` of https://play), before any comparison of the whole prefix.
  const first = url.charCodeAt(0) | 0x20;
  let end = -1;
  if (first === 0x68 /* h */) {
    if (
      (url.charCodeAt(8) | 0x20) === 0x70 /* p */ &&
      startsWithIgnoringCase(url, PLAY_ORIGIN) &&
      url.startsWith(PLAY_PATH, PLAY_ORIGIN.length)
    ) {
      end = PLAY_ORIGIN.length + PLAY_PATH.length;
    }
  } else if (first === 0x6d /* m */ && startsWithIgnoringCase(url, MARKET)) {
    end = MARKET.length;
  }
  if (end === -1 || end === url.length) return end;
  const next = url.charCodeAt(end);
  return next === 0x3f /* ? */ || next === 0x23 /* # */ ? end : -1;
}

/** A Google Play listing: https://play.google.com/store/apps/details or market://details. */
export function isPlayListing(url: string): boolean {
  return listingPathEnd(url) !== -1;
}

/**
 * A listing's URL around the click id: the Location is `head + encodeComponent(clickId) + tail`.
 * Computed once per URL; a click only concatenates.
 */
export interface ReferrerSlot {
  head: string;
  tail: string;
}

function keyOf(pair: string): string {
  const equals = pair.indexOf("=");
  return equals === -1 ? pair : pair.slice(0, equals);
}

/**
 * The decoded referrer around its click id: `before` ends with `click_id=`. An existing click_id
 * is replaced where it stands (any second one dropped), else click_id is appended.
 */
function innerSlot(referrer: string): { before: string; after: string } {
  const pairs = referrer.split("&");
  const at = pairs.findIndex((pair) => keyOf(pair) === CLICK_ID);
  if (at === -1) {
    const joiner = referrer === "" || referrer.endsWith("&") ? "" : "&";
    return { before: `${referrer}${joiner}${CLICK_ID}=`, after: "" };
  }
  const rest = pairs.slice(at + 1).filter((pair) => keyOf(pair) !== CLICK_ID);
  return {
    before: [...pairs.slice(0, at), `${CLICK_ID}=`].join("&"),
    after: rest.length === 0 ? "" : `&${rest.join("&")}`,
  };
}

/** Where the click id goes in this URL; undefined when it is not a Google Play listing. */
export function referrerSlot(url: string): ReferrerSlot | undefined {
  const pathEnd = listingPathEnd(url);
  if (pathEnd === -1) return undefined;
  const hash = url.indexOf("#", pathEnd);
  const queryEnd = hash === -1 ? url.length : hash;
  const fragment = url.slice(queryEnd);
  if (url.charCodeAt(pathEnd) !== 0x3f /* ? */) {
    return { head: `${url.slice(0, pathEnd)}?${REFERRER}=${CLICK_ID_ENCODED}`, tail: fragment };
  }
  // Each parameter keeps its bytes and its place; only the referrer's value is rewritten.
  let start = pathEnd + 1;
  while (start <= queryEnd) {
    const amp = url.indexOf("&", start);
    const end = amp === -1 || amp > queryEnd ? queryEnd : amp;
    const pair = url.slice(start, end);
    if (keyOf(pair) === REFERRER) {
      const raw = pair.length === REFERRER.length ? "" : pair.slice(REFERRER.length + 1);
      const { before, after } = innerSlot(decodeFormComponent(raw));
      return {
        head: `${url.slice(0, start)}${REFERRER}=${encodeComponent(before)}`,
        tail: `${encodeComponent(after)}${url.slice(end)}`,
      };
    }
    start = end + 1;
  }
  const query = url.slice(pathEnd + 1, queryEnd);
  const joiner = query === "" || query.endsWith("&") ? "" : "&";
  return {
    head: `${url.slice(0, queryEnd)}${joiner}${REFERRER}=${CLICK_ID_ENCODED}`,
    tail: fragment,
  };
}

/** The URL with the click id in its install referrer; any URL that is not a listing as it is. */
export function withPlayReferrer(url: string, clickId: string): string {
  const slot = referrerSlot(url);
  return slot === undefined ? url : `${slot.head}${encodeComponent(clickId)}${slot.tail}`;
}

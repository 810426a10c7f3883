import { withEmptyMacros } from "../click/macros";

/**
 * Which URL a check of a target fetches. A target with macros is checked with every macro empty,
 * as a click carrying none of their values would be sent; `{click_id}`, `{q:NAME}` and the like.
 */

/** Google Play's app scheme, which a browser cannot fetch, and the web page for the same app. */
const PLAY_DETAILS = /^market:\/\/details\?(?:.*&)?id=([^&#]+)/i;

/** `market://details?id=X` → its https://play.google.com page; anything else: undefined. */
export function playStorePage(target: string): string | undefined {
  const match = PLAY_DETAILS.exec(target);
  return match ? `https://play.google.com/store/apps/details?id=${match[1]}` : undefined;
}

/**
 * The http(s) URL a check of this target fetches, or undefined when it is not checked (an app
 * scheme: it opens an app on the device, so there is no page to find missing; it counts as alive).
 */
export function checkableUrl(target: string): string | undefined {
  const url = withEmptyMacros(target);
  const play = playStorePage(url);
  if (play !== undefined) return play;
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) return undefined;
  return url;
}

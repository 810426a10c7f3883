import type { CampaignLink } from "../db/schema";
import { encodeComponent } from "./encoding";
import type { ClickFields } from "./event";
import { perLinkUrl } from "./link-cache";
import { expandTemplate, templateOf } from "./macros";
import { isPlayListing, referrerSlot, withPlayReferrer } from "./play-referrer";

/**
 * How the chosen target becomes the Location: its macros replaced by this click's values, then,
 * with PLAY_REFERRER on, the click id put into a Google Play listing's install referrer. A target
 * with neither is the Location as it is, the same string.
 */
export type Locate = (
  link: CampaignLink,
  target: string,
  fields: ClickFields,
  platform: string,
  unixSeconds: number,
  rawQuery: string,
) => string;

const slotOf = perLinkUrl(referrerSlot);

export function createLocator(options: { playReferrer: boolean }): Locate {
  const { playReferrer } = options;
  return (link, target, fields, platform, unixSeconds, rawQuery) => {
    // The common target, neither macros nor a listing: one scan for `{` and a look at its scheme and host.
    if (target.includes("{")) {
      const template = templateOf(link, target);
      if (template !== undefined) {
        const url = expandTemplate(template, { link, fields, platform, unixSeconds, rawQuery });
        return playReferrer ? withPlayReferrer(url, fields.clickId) : url;
      }
    }
    if (!playReferrer || !isPlayListing(target)) return target;
    const slot = slotOf(link, target);
    return slot === undefined ? target : `${slot.head}${encodeComponent(fields.clickId)}${slot.tail}`;
  };
}

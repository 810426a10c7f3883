import type { CampaignLink } from "../db/schema";
import { encodeComponent } from "./encoding";
import type { ClickFields } from "./event";
import { perLinkUrl } from "./link-cache";
import { expandTemplate, templateOf } from "./macros";
import { isPlayListing, type ReferrerSlot, referrerSlot, withPlayReferrer } from "./play-referrer";

/**
 * How the chosen target becomes the Location: its macros replaced by this click's values, then,
 * with PLAY_REFERRER on, the click id put into a Google Play listing's install referrer.
 *
 * Sets `fields.redirectUrl` to the Location and, when that carries this click's own values,
 * `fields.redirectEncoded` to the event's value for it. A target with neither macros nor a listing
 * leaves both as they are: the Location is the target, the same string.
 */
export type Locate = (
  link: CampaignLink,
  target: string,
  fields: ClickFields,
  platform: string,
  unixSeconds: number,
  rawQuery: string,
) => void;

interface EncodedSlot extends ReferrerSlot {
  encodedHead: string;
  encodedTail: string;
}

// A listing's slot, and its pieces encoded for the event, once per link object and target.
const slotOf = perLinkUrl((url): EncodedSlot | undefined => {
  const slot = referrerSlot(url);
  return (
    slot && { ...slot, encodedHead: encodeComponent(slot.head), encodedTail: encodeComponent(slot.tail) }
  );
});

export function createLocator(options: { playReferrer: boolean }): Locate {
  const { playReferrer } = options;
  return (link, target, fields, platform, unixSeconds, rawQuery) => {
    // The common target, neither macros nor a listing: one scan for `{` and a look at its scheme and host.
    if (target.includes("{")) {
      const template = templateOf(link, target);
      if (template !== undefined) {
        const expanded = expandTemplate(template, { link, fields, platform, unixSeconds, rawQuery });
        const url = playReferrer ? withPlayReferrer(expanded.url, fields.clickId) : expanded.url;
        fields.redirectUrl = url;
        fields.redirectEncoded = url === expanded.url ? expanded.encoded : encodeComponent(url);
        return;
      }
    }
    if (!playReferrer || !isPlayListing(target)) return;
    const slot = slotOf(link, target);
    if (slot === undefined) return;
    // The URL is ASCII: encoded piece by piece it is the same as encoded whole.
    const clickId = encodeComponent(fields.clickId);
    fields.redirectUrl = `${slot.head}${clickId}${slot.tail}`;
    fields.redirectEncoded = `${slot.encodedHead}${encodeComponent(clickId)}${slot.encodedTail}`;
  };
}

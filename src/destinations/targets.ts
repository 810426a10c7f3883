import type { CampaignLink } from "../db/schema";

/** A distinct target URL and who uses it. */
export interface TargetUse {
  /** The link key its check poses as: a platform when some link names one for it, else "default". */
  platform: string;
  /** The ids of the links that use it, for the log line when it turns dead. */
  links: number[];
}

const NOT_A_PLATFORM = new Set(["default", "fallback"]);

/** Every distinct target URL of these links (every platform key, `default`, `fallback`). */
export function distinctTargets(links: Iterable<CampaignLink>): Map<string, TargetUse> {
  const targets = new Map<string, TargetUse>();
  for (const link of links) {
    for (const [key, url] of Object.entries(link.targetUrl)) {
      const use = targets.get(url);
      if (use === undefined) {
        targets.set(url, { platform: key, links: [link.id] });
        continue;
      }
      if (use.links[use.links.length - 1] !== link.id) use.links.push(link.id);
      if (NOT_A_PLATFORM.has(use.platform) && !NOT_A_PLATFORM.has(key)) use.platform = key;
    }
  }
  return targets;
}

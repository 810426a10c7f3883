import type { CampaignLink } from "../db/schema";

/** Where a click on this link from this platform goes: its platform's URL, else "default", else "fallback". */
export function resolveRedirect(link: CampaignLink, platform: string): string | undefined {
  const targets = link.targetUrl;
  // Own properties only: a platform named like an Object.prototype member must not resolve to it.
  if (platform !== "" && Object.hasOwn(targets, platform)) return targets[platform];
  if (Object.hasOwn(targets, "default")) return targets.default;
  if (Object.hasOwn(targets, "fallback")) return targets.fallback;
  return undefined;
}

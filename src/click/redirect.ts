import type { CampaignLink } from "../db/schema";

/** Whether the destination checks found this target URL dead; a read from memory. */
export type IsDead = (url: string) => boolean;

/** Where a click on this link from this platform goes: its platform's URL, else "default", else "fallback". */
export function resolveRedirect(link: CampaignLink, platform: string): string | undefined {
  const targets = link.targetUrl;
  // Own properties only: a platform named like an Object.prototype member must not resolve to it.
  if (platform !== "" && Object.hasOwn(targets, platform)) return targets[platform];
  if (Object.hasOwn(targets, "default")) return targets.default;
  if (Object.hasOwn(targets, "fallback")) return targets.fallback;
  return undefined;
}

/**
 * Where a click goes instead of `chosen` when that one is dead: the link's "default", else its
 * "fallback", whichever is not dead; when every one is dead, `chosen` (a dead page is no worse than none).
 */
export function liveTarget(link: CampaignLink, chosen: string, isDead: IsDead): string {
  if (!isDead(chosen)) return chosen;
  const targets = link.targetUrl;
  const byDefault = Object.hasOwn(targets, "default") ? targets.default : undefined;
  if (byDefault !== undefined && !isDead(byDefault)) return byDefault;
  const byFallback = Object.hasOwn(targets, "fallback") ? targets.fallback : undefined;
  if (byFallback !== undefined && !isDead(byFallback)) return byFallback;
  return chosen;
}

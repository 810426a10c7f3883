/** Why a click comes from no person: a HEAD request, or a crawler's or link-preview fetcher's User-Agent. */
export const NON_HUMAN_REASONS = ["head", "crawler"] as const;
export type NonHumanReason = (typeof NON_HUMAN_REASONS)[number];

/**
 * Why this click comes from no person, if it does. HEAD first: whatever sends one wants no page,
 * whoever it says it is.
 */
export function nonHumanReason(method: string, crawler: boolean): NonHumanReason | undefined {
  if (method === "HEAD") return "head";
  return crawler ? "crawler" : undefined;
}

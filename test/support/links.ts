import type { CampaignLink } from "../../src/db/schema";

/** A complete link row for unit tests; fields not given are as the database would leave them. */
export function linkRow(fields: Partial<CampaignLink> & { id: number }): CampaignLink {
  const at = new Date("2026-11-28T00:00:00Z");
  return {
    campaign: null,
    adgroup: null,
    ad: null,
    network: null,
    country: null,
    device: null,
    campaignUrl: null,
    targetUrl: {},
    attributionWindowFingerprint: null,
    attributionWindowIdfa: null,
    userId: null,
    createdAt: at,
    updatedAt: at,
    ...fields,
  };
}

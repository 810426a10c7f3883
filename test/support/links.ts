import { openPostgres } from "../../src/db/database";
import type { CampaignLink, NewCampaignLink } from "../../src/db/schema";
import { createLinkRepository } from "../../src/links/repository";

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

/** Stores campaign links straight into a migrated Postgres database, as the API would. */
export async function seedLinks(databaseUrl: string, links: NewCampaignLink[]): Promise<void> {
  const database = openPostgres(databaseUrl);
  try {
    const repository = createLinkRepository(database.db);
    for (const link of links) await repository.upsert(link);
  } finally {
    await database.close();
  }
}

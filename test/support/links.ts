import { openPostgres } from "../../src/db/database";
import type { CampaignLink, NewCampaignLink } from "../../src/db/schema";
import { createLinkRepository } from "../../src/links/repository";
import { sharedPostgres } from "./postgres";
import { migrate } from "./service";

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

/** Stores these links in a migrated Postgres database, as the API would. */
export async function insertLinks(databaseUrl: string, links: NewCampaignLink[]): Promise<void> {
  const database = openPostgres(databaseUrl);
  try {
    const repository = createLinkRepository(database.db);
    for (const link of links) await repository.upsert(link);
  } finally {
    await database.close();
  }
}

/** A fresh, migrated Postgres database on the shared test cluster holding these links; its URL. */
export async function databaseWithLinks(links: NewCampaignLink[]): Promise<string> {
  const databaseUrl = await (await sharedPostgres()).createDatabase();
  await migrate(databaseUrl);
  await insertLinks(databaseUrl, links);
  return databaseUrl;
}

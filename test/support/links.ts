import { openPostgres } from "../../src/db/database";
import type { NewCampaignLink } from "../../src/db/schema";
import { createLinkRepository } from "../../src/links/repository";

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

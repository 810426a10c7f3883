import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/database";
import { type CampaignLink, campaignLinks, type NewCampaignLink } from "../db/schema";

/** Every read and write of campaign links; nothing else touches the table. */
export interface LinkRepository {
  all(): Promise<CampaignLink[]>;
  byId(id: number): Promise<CampaignLink | undefined>;
  /** Inserts or replaces the link with this id. */
  upsert(link: NewCampaignLink): Promise<CampaignLink>;
  /** True when a link was there to delete. */
  remove(id: number): Promise<boolean>;
}

export function createLinkRepository(db: Db): LinkRepository {
  return {
    all: () => db.select().from(campaignLinks),

    async byId(id) {
      const rows = await db.select().from(campaignLinks).where(eq(campaignLinks.id, id)).limit(1);
      return rows[0];
    },

    async upsert(link) {
      const { id: _id, createdAt: _createdAt, ...fields } = link;
      const [row] = await db
        .insert(campaignLinks)
        .values(link)
        .onConflictDoUpdate({
          target: campaignLinks.id,
          set: { ...fields, updatedAt: sql`now()` },
        })
        .returning();
      if (!row) throw new Error(`upsert of campaign link ${link.id} returned no row`);
      return row;
    },

    async remove(id) {
      const rows = await db
        .delete(campaignLinks)
        .where(eq(campaignLinks.id, id))
        .returning({ id: campaignLinks.id });
      return rows.length > 0;
    },
  };
}

import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/database";
import { type CampaignLink, campaignLinks, type NewCampaignLink } from "../db/schema";

/** Every create, update and delete of a link is announced here with its id, in the transaction that makes it. */
export const LINK_CHANGES_CHANNEL = "campaign_link_changes";

/**
 * Committed with the change or not at all, so no instance hears of a change that was rolled back,
 * and none can miss one while it stays connected.
 */
async function announceChange(tx: Pick<Db, "execute">, id: number): Promise<void> {
  await tx.execute(sql`select pg_notify(${LINK_CHANGES_CHANNEL}, ${String(id)})`);
}

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

    upsert(link) {
      const { id: _id, createdAt: _createdAt, ...fields } = link;
      return db.transaction(async (tx) => {
        const [row] = await tx
          .insert(campaignLinks)
          .values(link)
          .onConflictDoUpdate({
            target: campaignLinks.id,
            set: { ...fields, updatedAt: sql`now()` },
          })
          .returning();
        if (!row) throw new Error(`upsert of campaign link ${link.id} returned no row`);
        await announceChange(tx, row.id);
        return row;
      });
    },

    remove(id) {
      return db.transaction(async (tx) => {
        const rows = await tx
          .delete(campaignLinks)
          .where(eq(campaignLinks.id, id))
          .returning({ id: campaignLinks.id });
        // Announced even when nothing was there: an instance that still holds the id drops it.
        await announceChange(tx, id);
        return rows.length > 0;
      });
    },
  };
}

import { inArray, sql } from "drizzle-orm";
import type { Db } from "../db/database";
import { type Destination, destinations } from "../db/schema";
import { LINK_CHANGES_CHANNEL } from "../links/repository";
import type { DestinationStatus } from "./verdict";

/**
 * The payload announcing, on the link change feed every machine follows, that a destination
 * changed state: not a link id, so a machine tells it apart from link changes.
 */
export const DESTINATION_CHANGES = "destinations";

/** Every read and write of destination states. */
export interface DestinationRepository {
  all(): Promise<Destination[]>;
  /** Stores one check's result; a change of state is announced to every machine in the same transaction. */
  save(url: string, status: DestinationStatus, stateChanged: boolean): Promise<void>;
  /** Drops destinations no link uses any more. */
  remove(urls: string[]): Promise<void>;
}

export function createDestinationRepository(db: Db): DestinationRepository {
  return {
    all: () => db.select().from(destinations),

    save(url, status, stateChanged) {
      return db.transaction(async (tx) => {
        await tx
          .insert(destinations)
          .values({ url, ...status })
          .onConflictDoUpdate({ target: destinations.url, set: status });
        if (stateChanged)
          await tx.execute(sql`select pg_notify(${LINK_CHANGES_CHANNEL}, ${DESTINATION_CHANGES})`);
      });
    },

    async remove(urls) {
      if (urls.length === 0) return;
      await db.transaction(async (tx) => {
        await tx.delete(destinations).where(inArray(destinations.url, urls));
        await tx.execute(sql`select pg_notify(${LINK_CHANGES_CHANNEL}, ${DESTINATION_CHANGES})`);
      });
    },
  };
}

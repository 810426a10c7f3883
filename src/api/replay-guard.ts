import { lt } from "drizzle-orm";
import type { Db } from "../db/database";
import { apiSignatures } from "../db/schema";
import { V2_WINDOW_SECONDS } from "./authenticate";

/** Remembers accepted v2 signatures in the database, where every machine sees them. */
export interface ReplayGuard {
  /**
   * True the first time `signature` is claimed (on any machine sharing the database), false after.
   * It is kept until `expiresAtMs`, when its timestamp leaves the window and the clock refuses it anyway.
   */
  claim(signature: string, expiresAtMs: number, nowMs: number): Promise<boolean>;
}

export function createReplayGuard(db: Db): ReplayGuard {
  return {
    async claim(signature, expiresAtMs, nowMs) {
      // The unique key decides, so two machines given the same request at once accept it once.
      const [claimed] = await Promise.all([
        db
          .insert(apiSignatures)
          .values({ signature, expiresAt: new Date(expiresAtMs) })
          .onConflictDoNothing()
          .returning({ signature: apiSignatures.signature }),
        // Purged a window late: a machine whose clock runs behind this one's still refuses them as replays.
        db
          .delete(apiSignatures)
          .where(lt(apiSignatures.expiresAt, new Date(nowMs - V2_WINDOW_SECONDS * 1000))),
      ]);
      return claimed.length === 1;
    },
  };
}

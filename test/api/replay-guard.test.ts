import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createReplayGuard } from "../../src/api/replay-guard";
import { type Database, openPglite, openPostgres } from "../../src/db/database";
import { apiSignatures } from "../../src/db/schema";
import { sharedPostgres } from "../support/postgres";
import { migrate, tempDir } from "../support/service";

// A PostgreSQL cluster and the embedded database start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const opened: Database[] = [];
afterAll(async () => {
  await Promise.all(opened.map((database) => database.close()));
});

const databases: Array<[string, () => Promise<Database>]> = [
  [
    "PostgreSQL",
    async () => {
      const url = await (await sharedPostgres()).createDatabase();
      await migrate(url);
      return openPostgres(url);
    },
  ],
  [
    "embedded PGlite",
    async () => {
      const database = await openPglite(tempDir());
      await database.migrate();
      return database;
    },
  ],
];

for (const [name, open] of databases) {
  describe(`replay guard on ${name}`, () => {
    test("a signature is claimed once; rows a window past their expiry are purged, younger ones kept", async () => {
      const database = await open();
      opened.push(database);
      const guard = createReplayGuard(database.db);
      const now = Date.parse("2026-12-06T02:00:00Z");
      const expires = now + 300_000;
      expect(await guard.claim("a".repeat(64), expires, now)).toBe(true);
      expect(await guard.claim("a".repeat(64), expires, now)).toBe(false);
      expect(await guard.claim("b".repeat(64), expires, now)).toBe(true);

      // Expired 301 s before the next claim: purged. Expired 299 s before: kept (a slower clock may still accept it).
      await database.db.insert(apiSignatures).values([
        { signature: "old", expiresAt: new Date(now - 301_000) },
        { signature: "recent", expiresAt: new Date(now - 299_000) },
      ]);
      expect(await guard.claim("c".repeat(64), expires, now)).toBe(true);
      const left = await database.db.select({ signature: apiSignatures.signature }).from(apiSignatures);
      expect(left.map((row) => row.signature).sort()).toEqual([
        "a".repeat(64),
        "b".repeat(64),
        "c".repeat(64),
        "recent",
      ]);
    });

    test("the same signature claimed at once, many times: one claim wins", async () => {
      const database = await open();
      opened.push(database);
      const guard = createReplayGuard(database.db);
      const now = Date.now();
      const claims = await Promise.all(
        Array.from({ length: 8 }, () => guard.claim("d".repeat(64), now + 300_000, now)),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
    });
  });
}

import { describe, expect, test } from "bun:test";
import type { CampaignLink, NewCampaignLink } from "../../src/db/schema";
import { LinkCache } from "../../src/links/cache";
import type { LinkRepository } from "../../src/links/repository";
import { linkRow } from "../support/links";

/** An in-memory repository that counts lookups and can hold them; the real one is exercised end to end. */
function memoryRepository(rows: CampaignLink[]) {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const calls = { all: 0, byId: 0 };
  let gate: Promise<void> | undefined;
  let open = () => {};
  const repository: LinkRepository = {
    async all() {
      calls.all += 1;
      return [...byId.values()];
    },
    async byId(id) {
      calls.byId += 1;
      await gate;
      return byId.get(id);
    },
    async upsert(link: NewCampaignLink) {
      const row = linkRow({ ...link, id: link.id });
      byId.set(row.id, row);
      return row;
    },
    async remove(id) {
      return byId.delete(id);
    },
  };
  return {
    ...repository,
    calls,
    hold() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release: () => open(),
  };
}

describe("LinkCache", () => {
  test("load fills the cache; get never touches the database", async () => {
    const repository = memoryRepository([linkRow({ id: 1 }), linkRow({ id: 2 })]);
    const cache = new LinkCache(repository);
    expect(await cache.load()).toBe(2);
    expect(cache.get(1)?.id).toBe(1);
    expect(cache.lookup(2)).toEqual(linkRow({ id: 2 }));
    expect(repository.calls.byId).toBe(0);
  });

  test("concurrent misses for one id share one query", async () => {
    const repository = memoryRepository([linkRow({ id: 3 })]);
    const cache = new LinkCache(repository);
    repository.hold();
    const lookups = Array.from({ length: 50 }, () => cache.lookup(3));
    repository.release();
    const links = await Promise.all(lookups);
    expect(links.every((link) => link?.id === 3)).toBe(true);
    expect(repository.calls.byId).toBe(1);
    expect(cache.get(3)?.id).toBe(3);
  });

  test("a missing id is remembered for a while, then asked again", async () => {
    let now = 1_000;
    const repository = memoryRepository([]);
    const cache = new LinkCache(repository, { missingTtlMs: 100, now: () => now });
    expect(await cache.lookup(9)).toBeUndefined();
    for (let i = 0; i < 100; i++) expect(cache.lookup(9)).toBeUndefined();
    expect(repository.calls.byId).toBe(1);
    now += 101;
    expect(await cache.lookup(9)).toBeUndefined();
    expect(repository.calls.byId).toBe(2);
  });

  test("remembered missing ids are bounded", async () => {
    const repository = memoryRepository([]);
    const cache = new LinkCache(repository, { maxMissing: 10 });
    for (let id = 1; id <= 20; id++) await cache.lookup(id);
    expect(repository.calls.byId).toBe(20);
    await cache.lookup(1);
    expect(repository.calls.byId).toBe(21);
    await cache.lookup(20);
    expect(repository.calls.byId).toBe(21);
  });

  test("put and drop change what clicks see at once; put forgets a remembered miss", async () => {
    const repository = memoryRepository([]);
    const cache = new LinkCache(repository);
    expect(await cache.lookup(5)).toBeUndefined();
    cache.put(linkRow({ id: 5 }));
    expect(cache.lookup(5)).toEqual(linkRow({ id: 5 }));
    cache.drop(5);
    expect(cache.get(5)).toBeUndefined();
  });
});

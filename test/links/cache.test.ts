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

  test("refresh shows a change at once and forgets a remembered miss", async () => {
    const repository = memoryRepository([]);
    const cache = new LinkCache(repository);
    expect(await cache.lookup(5)).toBeUndefined();
    await repository.upsert({ id: 5, targetUrl: { default: "https://example.com/5" } });
    await cache.refresh(5);
    expect(cache.lookup(5)).toEqual(linkRow({ id: 5, targetUrl: { default: "https://example.com/5" } }));
    await repository.remove(5);
    await cache.refresh(5);
    expect(cache.get(5)).toBeUndefined();
  });
});

/** A link whose default target names its version, so a test can tell two states of one link apart. */
function link(id: number, url = `https://example.com/${id}`): CampaignLink {
  return linkRow({ id, targetUrl: { default: url } });
}

/** A read the test answers when it chooses, so it decides which of two overlapping reads finishes first. */
interface Held<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  promise: Promise<T>;
}

function held<T>(): Held<T> {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { resolve, reject, promise };
}

/** A repository whose every read waits for the test; it counts reads like the database would. */
class HeldRepository implements LinkRepository {
  readonly byIdCalls: Array<{ id: number; read: Held<CampaignLink | undefined> }> = [];
  readonly allCalls: Array<Held<CampaignLink[]>> = [];

  all(): Promise<CampaignLink[]> {
    const read = held<CampaignLink[]>();
    this.allCalls.push(read);
    return read.promise;
  }

  byId(id: number): Promise<CampaignLink | undefined> {
    const read = held<CampaignLink | undefined>();
    this.byIdCalls.push({ id, read });
    return read.promise;
  }

  upsert(): Promise<CampaignLink> {
    throw new Error("not used by the cache");
  }

  remove(): Promise<boolean> {
    throw new Error("not used by the cache");
  }

  /** The n-th byId read (0-based). */
  read(n: number): Held<CampaignLink | undefined> {
    const call = this.byIdCalls[n];
    if (!call) throw new Error(`no read #${n}: ${this.byIdCalls.length} so far`);
    return call.read;
  }

  load(n: number): Held<CampaignLink[]> {
    const call = this.allCalls[n];
    if (!call) throw new Error(`no load #${n}: ${this.allCalls.length} so far`);
    return call;
  }
}

const flush = () => Bun.sleep(0);

/** A cache whose first load found `rows`, with the repository that now holds every further read. */
async function loadedWith(rows: CampaignLink[]): Promise<{ repository: HeldRepository; cache: LinkCache }> {
  const repository = new HeldRepository();
  const cache = new LinkCache(repository);
  const first = cache.load();
  repository.load(0).resolve(rows);
  await first;
  return { repository, cache };
}

describe("LinkCache misses, bounded", () => {
  test("concurrent misses for one id share one read, and a missing id is remembered for the TTL", async () => {
    let now = 1_000;
    const repository = new HeldRepository();
    const cache = new LinkCache(repository, { missingTtlMs: 5_000, now: () => now });
    const answers = Array.from({ length: 50 }, () => cache.lookup(404));
    expect(repository.byIdCalls.length).toBe(1);
    repository.read(0).resolve(undefined);
    expect(await Promise.all(answers)).toEqual(Array(50).fill(undefined));

    expect(cache.lookup(404)).toBeUndefined();
    now += 5_001;
    void cache.lookup(404);
    expect(repository.byIdCalls.length).toBe(2);
  });

  test("while complete a miss is answered at once and asks the database nothing", () => {
    const repository = new HeldRepository();
    const cache = new LinkCache(repository);
    cache.setComplete(true);
    for (let id = 1; id <= 1_000; id++) expect(cache.lookup(id)).toBeUndefined();
    expect(repository.byIdCalls.length).toBe(0);
  });

  test("while complete a lookup still joins the read of a change under way", async () => {
    const repository = new HeldRepository();
    const cache = new LinkCache(repository);
    cache.setComplete(true);
    void cache.refresh(9);
    const answer = cache.lookup(9);
    repository.read(0).resolve(link(9));
    expect(await answer).toEqual(link(9));
    expect(repository.byIdCalls.length).toBe(1);
  });

  test("a lookup waits no longer than the lookup timeout for a database that does not answer", async () => {
    const repository = new HeldRepository();
    const cache = new LinkCache(repository, { lookupTimeoutMs: 20 });
    const guard = Bun.sleep(5_000).then(() => "still waiting");
    expect(await Promise.race([cache.lookup(1), guard])).toBeUndefined();
    // Later lookups of the same id find the read already given up on, instead of waiting again.
    expect(await Promise.race([cache.lookup(1), guard])).toBeUndefined();
    expect(repository.byIdCalls.length).toBe(1);
  });

  test("a read that answers after the timeout is still stored for the next click", async () => {
    const repository = new HeldRepository();
    const cache = new LinkCache(repository, { lookupTimeoutMs: 10 });
    expect(await cache.lookup(3)).toBeUndefined();
    repository.read(0).resolve(link(3));
    await flush();
    expect(cache.lookup(3)).toEqual(link(3));
  });

  test("at most maxPendingReads reads at once; other misses are answered without asking", async () => {
    const repository = new HeldRepository();
    const cache = new LinkCache(repository, { maxPendingReads: 3 });
    const answers = Array.from({ length: 10 }, (_, i) => cache.lookup(100 + i));
    expect(repository.byIdCalls.length).toBe(3);
    expect(answers.slice(3)).toEqual(Array(7).fill(undefined));
    for (let n = 0; n < 3; n++) repository.read(n).resolve(undefined);
    await Promise.all(answers);
    void cache.lookup(200);
    expect(repository.byIdCalls.length).toBe(4);
  });

  test("a failed read answers unknown and is not asked again within the TTL", async () => {
    let now = 0;
    const repository = new HeldRepository();
    const cache = new LinkCache(repository, { missingTtlMs: 1_000, now: () => now });
    const answer = cache.lookup(5);
    repository.read(0).reject(new Error("connect ECONNREFUSED"));
    expect(await answer).toBeUndefined();
    expect(cache.lookup(5)).toBeUndefined();
    expect(repository.byIdCalls.length).toBe(1);
    now += 1_001;
    void cache.lookup(5);
    expect(repository.byIdCalls.length).toBe(2);
  });

  test("refresh rejects when the read fails, so the caller can retry", async () => {
    const repository = new HeldRepository();
    const cache = new LinkCache(repository);
    const refreshed = cache.refresh(5);
    repository.read(0).reject(new Error("connection lost"));
    await expect(refreshed).rejects.toThrow("connection lost");
  });

  test("refresh drops a link that is gone", async () => {
    const { repository, cache } = await loadedWith([link(1), link(2)]);
    const refreshed = cache.refresh(1);
    repository.read(0).resolve(undefined);
    expect(await refreshed).toBeUndefined();
    expect(cache.get(1)).toBeUndefined();
    expect(cache.get(2)).toEqual(link(2));
  });
});

describe("LinkCache overlapping reads", () => {
  test("an older read finishing last does not overwrite what a newer one stored", async () => {
    const repository = new HeldRepository();
    const cache = new LinkCache(repository);
    const older = cache.refresh(1);
    const newer = cache.refresh(1);
    repository.read(1).resolve(link(1, "https://example.com/new"));
    await newer;
    repository.read(0).resolve(link(1, "https://example.com/old"));
    // The stale read answers with what the cache holds now.
    expect((await older)?.targetUrl).toEqual({ default: "https://example.com/new" });
    expect(cache.get(1)?.targetUrl).toEqual({ default: "https://example.com/new" });
  });

  test("a miss in flight when the link is created does not bring back 'missing'", async () => {
    const repository = new HeldRepository();
    const cache = new LinkCache(repository);
    const miss = cache.lookup(7);
    const change = cache.refresh(7);
    repository.read(1).resolve(link(7));
    await change;
    repository.read(0).resolve(undefined);
    expect(await miss).toEqual(link(7));
    expect(cache.get(7)).toEqual(link(7));
  });

  test("a read of a deletion is not undone by an older read that still saw the link", async () => {
    const repository = new HeldRepository();
    const cache = new LinkCache(repository);
    const older = cache.refresh(4);
    const deletion = cache.refresh(4);
    repository.read(1).resolve(undefined);
    await deletion;
    repository.read(0).resolve(link(4));
    await older;
    expect(cache.get(4)).toBeUndefined();
  });

  test("a reload in flight does not undo changes read after it began", async () => {
    const { repository, cache } = await loadedWith([link(1), link(2)]);

    const reload = cache.load();
    const update = cache.refresh(1);
    const deletion = cache.refresh(2);
    const creation = cache.refresh(3);
    repository.read(0).resolve(link(1, "https://example.com/updated"));
    repository.read(1).resolve(undefined);
    repository.read(2).resolve(link(3));
    await Promise.all([update, deletion, creation]);
    // The reload's snapshot was taken before those changes.
    repository.load(1).resolve([link(1), link(2)]);
    await reload;

    expect(cache.get(1)?.targetUrl).toEqual({ default: "https://example.com/updated" });
    expect(cache.get(2)).toBeUndefined();
    expect(cache.get(3)).toEqual(link(3));
  });

  test("a reload replaces what it did not see change: new, changed and deleted links", async () => {
    const { repository, cache } = await loadedWith([link(1), link(2)]);
    const reload = cache.load();
    repository.load(1).resolve([link(2, "https://example.com/changed"), link(5)]);
    expect(await reload).toBe(2);
    expect(cache.get(1)).toBeUndefined();
    expect(cache.get(2)?.targetUrl).toEqual({ default: "https://example.com/changed" });
    expect(cache.get(5)).toEqual(link(5));
    expect(cache.size).toBe(2);
  });

  test("an older reload finishing after a newer one is ignored", async () => {
    const repository = new HeldRepository();
    const cache = new LinkCache(repository);
    const older = cache.load();
    const newer = cache.load();
    repository.load(1).resolve([link(1)]);
    await newer;
    repository.load(0).resolve([link(1, "https://example.com/old"), link(9)]);
    await older;
    expect(cache.get(1)).toEqual(link(1));
    expect(cache.get(9)).toBeUndefined();
  });

  test("a reload supersedes single reads that began before it", async () => {
    const repository = new HeldRepository();
    const cache = new LinkCache(repository);
    const read = cache.refresh(1);
    const reload = cache.load();
    repository.load(0).resolve([link(1, "https://example.com/reloaded")]);
    await reload;
    repository.read(0).resolve(undefined);
    await read;
    expect(cache.get(1)?.targetUrl).toEqual({ default: "https://example.com/reloaded" });
  });

  test("a single read that began after a reload wins over it", async () => {
    const repository = new HeldRepository();
    const cache = new LinkCache(repository);
    const reload = cache.load();
    const read = cache.refresh(1);
    repository.load(0).resolve([link(1, "https://example.com/snapshot")]);
    await reload;
    repository.read(0).resolve(link(1, "https://example.com/later"));
    await read;
    expect(cache.get(1)?.targetUrl).toEqual({ default: "https://example.com/later" });
  });
});

import type { CampaignLink } from "../db/schema";
import type { LinkCacheStats } from "../metrics/metrics";
import { within } from "../within";
import type { LinkRepository } from "./repository";

export interface LinkCacheOptions {
  /** How long an id that does not exist is remembered, so a flood of bad ids cannot hammer the database. */
  missingTtlMs?: number;
  /** At most this many remembered missing ids; the oldest are forgotten first. */
  maxMissing?: number;
  /** A miss waits at most this long for the database, then counts as an unknown link. */
  lookupTimeoutMs?: number;
  /** At most this many ids are read at once; a miss beyond that is answered without asking. */
  maxPendingReads?: number;
  now?: () => number;
}

type MaybeLink = CampaignLink | undefined;

/** A read of one id, in flight; stale once a state newer than what it will see was stored. */
interface PendingRead {
  readonly started: number;
  stale: boolean;
}

/** A read of the whole table, in flight; `newer` holds the ids stored since it began. */
interface PendingLoad {
  readonly started: number;
  stale: boolean;
  readonly newer: Set<number>;
}

/**
 * All campaign links in memory. A click reads `get` synchronously. While the cache is marked complete
 * (every change reaches it), a miss is an unknown link; otherwise a miss asks the database for that one
 * id, shared by concurrent misses and bounded in time and number.
 *
 * Reads overlap (a lookup, a change notification, a periodic reload), and the slowest one is not always
 * the oldest: each read is stamped when it starts, and a read that started before the last stored state
 * of an id does not overwrite it, since what it saw is older.
 */
export class LinkCache {
  /** Plain tallies the metrics read at scrape time: a click pays one `++`. */
  readonly stats: LinkCacheStats = { hits: 0, misses: 0, knownMissing: 0, unasked: 0 };
  private readonly links = new Map<number, CampaignLink>();
  private readonly missing = new Map<number, number>();
  /** What a lookup of an id being read waits for: the read, bounded by the lookup timeout. */
  private readonly inflight = new Map<number, Promise<MaybeLink>>();
  private readonly reads = new Map<number, Set<PendingRead>>();
  private readonly loads = new Set<PendingLoad>();
  private readonly missingTtlMs: number;
  private readonly maxMissing: number;
  private readonly lookupTimeoutMs: number;
  private readonly maxPendingReads: number;
  private readonly now: () => number;
  /** Orders reads: one that started later saw the database as it was later. */
  private clock = 0;
  private complete = false;
  private loadedAt = 0;

  constructor(
    private readonly repository: LinkRepository,
    options: LinkCacheOptions = {},
  ) {
    this.missingTtlMs = options.missingTtlMs ?? 5_000;
    this.maxMissing = options.maxMissing ?? 10_000;
    this.lookupTimeoutMs = options.lookupTimeoutMs ?? 200;
    this.maxPendingReads = options.maxPendingReads ?? 32;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.links.size;
  }

  /** Every link in memory. */
  all(): IterableIterator<CampaignLink> {
    return this.links.values();
  }

  /** The cached link, without touching the database. */
  get(id: number): CampaignLink | undefined {
    return this.links.get(id);
  }

  /**
   * Set by whoever keeps the cache in step with the database. While true every link is in memory,
   * so a miss is an unknown link and costs the database nothing.
   */
  setComplete(complete: boolean): void {
    this.complete = complete;
  }

  /** Whether every change reaches the cache (see setComplete): the metrics read it at scrape time. */
  get followsEveryChange(): boolean {
    return this.complete;
  }

  /** When every link was last read from the database (ms since the epoch), 0 before the first load. */
  get loadedAtMs(): number {
    return this.loadedAt;
  }

  /** The cached link, else (unless complete) one bounded database lookup shared by concurrent callers. */
  lookup(id: number): MaybeLink | Promise<MaybeLink> {
    const cached = this.links.get(id);
    if (cached) {
      this.stats.hits++;
      return cached;
    }
    // A read already under way (a change being applied) is worth joining even when complete.
    const pending = this.inflight.get(id);
    if (pending) {
      this.stats.misses++;
      return pending;
    }
    if (this.complete) {
      this.stats.unasked++;
      return undefined;
    }
    const missingUntil = this.missing.get(id);
    if (missingUntil !== undefined) {
      if (missingUntil > this.now()) {
        this.stats.knownMissing++;
        return undefined;
      }
      this.missing.delete(id);
    }
    if (this.inflight.size >= this.maxPendingReads) {
      this.stats.unasked++;
      return undefined;
    }
    this.stats.misses++;
    return this.read(id).bounded;
  }

  /** Replaces the whole cache with what the database holds now (unless a newer read got there first). */
  async load(): Promise<number> {
    const pending: PendingLoad = { started: ++this.clock, stale: false, newer: new Set() };
    this.loads.add(pending);
    try {
      const rows = await this.repository.all();
      if (!pending.stale) this.replaceAll(rows, pending);
      this.loadedAt = this.now();
      return rows.length;
    } finally {
      this.loads.delete(pending);
    }
  }

  /** Re-reads one link after a change (or drops it when it is gone); rejects when the read fails. */
  refresh(id: number): Promise<CampaignLink | undefined> {
    this.missing.delete(id);
    return this.read(id).result;
  }

  private read(id: number): { result: Promise<MaybeLink>; bounded: Promise<MaybeLink> } {
    const pending: PendingRead = { started: ++this.clock, stale: false };
    const readers = this.reads.get(id) ?? new Set<PendingRead>();
    this.reads.set(id, readers);
    readers.add(pending);
    const result = this.repository
      .byId(id)
      .then(
        (link) => {
          if (pending.stale) return this.links.get(id);
          this.store(id, link, pending.started);
          if (!link) this.rememberMissing(id);
          return link;
        },
        (error: unknown) => {
          // While the database fails, a lookup of this id answers at once instead of asking again.
          if (!pending.stale) this.rememberMissing(id);
          throw error;
        },
      )
      .finally(() => {
        readers.delete(pending);
        if (readers.size === 0 && this.reads.get(id) === readers) this.reads.delete(id);
        if (this.inflight.get(id) === bounded) this.inflight.delete(id);
      });
    const bounded = within(
      result.catch(() => undefined),
      this.lookupTimeoutMs,
      () => undefined,
    );
    this.inflight.set(id, bounded);
    return { result, bounded };
  }

  /** Stores the state of `id` as a read that started at `started` saw it; older reads in flight are stale for it. */
  private store(id: number, link: MaybeLink, started: number): void {
    const readers = this.reads.get(id);
    if (readers) {
      for (const read of readers) if (read.started < started) read.stale = true;
    }
    for (const load of this.loads) if (load.started < started) load.newer.add(id);
    if (link) {
      this.links.set(id, link);
      this.missing.delete(id);
    } else {
      this.links.delete(id);
    }
  }

  /** A whole-table snapshot supersedes every read in flight that started before it. */
  private replaceAll(rows: CampaignLink[], pending: PendingLoad): void {
    for (const load of this.loads) if (load.started < pending.started) load.stale = true;
    for (const readers of this.reads.values()) {
      for (const read of readers) if (read.started < pending.started) read.stale = true;
    }
    const present = new Set<number>();
    for (const row of rows) {
      present.add(row.id);
      if (!pending.newer.has(row.id)) this.links.set(row.id, row);
    }
    for (const id of this.links.keys()) {
      if (!present.has(id) && !pending.newer.has(id)) this.links.delete(id);
    }
    this.missing.clear();
  }

  private rememberMissing(id: number): void {
    if (this.missing.size >= this.maxMissing) {
      const oldest = this.missing.keys().next();
      if (!oldest.done) this.missing.delete(oldest.value);
    }
    this.missing.set(id, this.now() + this.missingTtlMs);
  }
}

import type { CampaignLink } from "../db/schema";
import type { LinkCacheStats } from "../metrics/metrics";
import type { LinkRepository } from "./repository";

export interface LinkCacheOptions {
  /** How long an id that does not exist is remembered, so a flood of bad ids cannot hammer the database. */
  missingTtlMs?: number;
  /** At most this many remembered missing ids; the oldest are forgotten first. */
  maxMissing?: number;
  now?: () => number;
}

/**
 * All campaign links in memory. A click reads `get` synchronously; only a miss
 * goes to the database, for that one id, shared by concurrent misses.
 */
export class LinkCache {
  /** Plain tallies the metrics read at scrape time: a click pays one `++`. */
  readonly stats: LinkCacheStats = { hits: 0, misses: 0, knownMissing: 0 };
  private readonly links = new Map<number, CampaignLink>();
  private readonly missing = new Map<number, number>();
  private readonly inflight = new Map<number, Promise<CampaignLink | undefined>>();
  private readonly missingTtlMs: number;
  private readonly maxMissing: number;
  private readonly now: () => number;

  constructor(
    private readonly repository: LinkRepository,
    options: LinkCacheOptions = {},
  ) {
    this.missingTtlMs = options.missingTtlMs ?? 5_000;
    this.maxMissing = options.maxMissing ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.links.size;
  }

  /** The cached link, without touching the database. */
  get(id: number): CampaignLink | undefined {
    return this.links.get(id);
  }

  /** The cached link, else one database lookup shared by every concurrent caller. */
  lookup(id: number): CampaignLink | undefined | Promise<CampaignLink | undefined> {
    const cached = this.links.get(id);
    if (cached) {
      this.stats.hits++;
      return cached;
    }
    const missingUntil = this.missing.get(id);
    if (missingUntil !== undefined) {
      if (missingUntil > this.now()) {
        this.stats.knownMissing++;
        return undefined;
      }
      this.missing.delete(id);
    }
    this.stats.misses++;
    return this.inflight.get(id) ?? this.fetch(id);
  }

  /** Replaces the whole cache with what the database holds now. */
  async load(): Promise<number> {
    const rows = await this.repository.all();
    this.links.clear();
    this.missing.clear();
    for (const link of rows) this.links.set(link.id, link);
    return rows.length;
  }

  /** Re-reads one link after a change (or drops it when it is gone). */
  async refresh(id: number): Promise<CampaignLink | undefined> {
    this.missing.delete(id);
    const link = await this.repository.byId(id);
    this.store(id, link);
    return link;
  }

  put(link: CampaignLink): void {
    this.missing.delete(link.id);
    this.links.set(link.id, link);
  }

  drop(id: number): void {
    this.links.delete(id);
  }

  private fetch(id: number): Promise<CampaignLink | undefined> {
    const pending = this.repository
      .byId(id)
      .then((link) => {
        this.store(id, link);
        return link;
      })
      .finally(() => this.inflight.delete(id));
    this.inflight.set(id, pending);
    return pending;
  }

  private store(id: number, link: CampaignLink | undefined): void {
    if (link) {
      this.links.set(id, link);
      return;
    }
    this.links.delete(id);
    if (this.missing.size >= this.maxMissing) {
      const oldest = this.missing.keys().next();
      if (!oldest.done) this.missing.delete(oldest.value);
    }
    this.missing.set(id, this.now() + this.missingTtlMs);
  }
}

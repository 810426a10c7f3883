import type { Destination, DestinationState } from "../db/schema";
import type { Logger } from "../logger";
import type { DestinationRepository } from "./repository";

/**
 * Every destination's last known state, in memory on every machine. A click asks `isDead`: one Set
 * read. Filled from the table at start, and again whenever a change is announced; when the table
 * cannot be read, the last known states stay in force.
 */
export class DestinationStates {
  private byUrl = new Map<string, Destination>();
  private dead = new Set<string>();
  private reloading = false;
  private reloadAgain = false;
  private failingSince: number | undefined;

  constructor(
    private readonly repository: DestinationRepository,
    private readonly logger: Logger,
  ) {}

  readonly isDead = (url: string): boolean => this.dead.has(url);

  get(url: string): Destination | undefined {
    return this.byUrl.get(url);
  }

  all(): IterableIterator<Destination> {
    return this.byUrl.values();
  }

  counts(): Record<DestinationState, number> {
    const counts = { alive: 0, dead: 0, unknown: 0 };
    for (const destination of this.byUrl.values()) counts[destination.state] += 1;
    return counts;
  }

  /** Records one destination's state as the checking machine wrote it. */
  set(destination: Destination): void {
    this.byUrl.set(destination.url, destination);
    if (destination.state === "dead") this.dead.add(destination.url);
    else this.dead.delete(destination.url);
  }

  forget(url: string): void {
    this.byUrl.delete(url);
    this.dead.delete(url);
  }

  /** Reads the whole table; one read at a time, and a request during one reads again after it. */
  reload(): void {
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = true;
    void this.load().finally(() => {
      this.reloading = false;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        this.reload();
      }
    });
  }

  /** One read of the table; a failure keeps what is known (logged once per outage). */
  async load(): Promise<void> {
    try {
      const rows = await this.repository.all();
      const byUrl = new Map<string, Destination>();
      const dead = new Set<string>();
      for (const row of rows) {
        byUrl.set(row.url, row);
        if (row.state === "dead") dead.add(row.url);
      }
      this.byUrl = byUrl;
      this.dead = dead;
      if (this.failingSince !== undefined) {
        this.logger.info({ destinations: byUrl.size }, "destination states read again");
        this.failingSince = undefined;
      }
    } catch (error) {
      if (this.failingSince !== undefined) return;
      this.failingSince = Date.now();
      this.logger.warn(
        { err: error, destinations: this.byUrl.size, dead: this.dead.size },
        "destination states could not be read: the last known states stay in force",
      );
    }
  }
}

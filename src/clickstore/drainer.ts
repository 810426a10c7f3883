import { clickIdOf } from "../click/event";
import type { Logger } from "../logger";
import type { ClickstorePool } from "./pool";
import type { Spool } from "./spool";

export interface DrainerOptions {
  spool: Spool;
  pool: ClickstorePool;
  logger: Logger;
  /** Events per RPUSH; a batch is one command, so Redis takes all of it or none. */
  batchEvents?: number;
  /** How long to wait before trying again when no node takes a batch and none announces itself. */
  retryMs?: number;
}

/**
 * Moves spooled events to Redis, oldest first, in batches, whenever a node takes them.
 * The spool forgets a batch only after Redis acknowledged it (at-least-once): a batch whose push timed
 * out, or a crash between Redis's acknowledgement and the spool's checkpoint, sends it again.
 */
export class Drainer {
  private readonly spool: Spool;
  private readonly pool: ClickstorePool;
  private readonly logger: Logger;
  private readonly batchEvents: number;
  private readonly retryMs: number;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private drained = 0;

  constructor(options: DrainerOptions) {
    this.spool = options.spool;
    this.pool = options.pool;
    this.logger = options.logger;
    this.batchEvents = options.batchEvents ?? 200;
    this.retryMs = options.retryMs ?? 1_000;
    this.pool.onAvailable(() => this.wake());
  }

  start(): void {
    this.running ??= this.run();
  }

  /** There is news: an event was spooled, or a node came back. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Lets the batch in flight finish; what is left stays spooled for the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      if (this.spool.pendingEvents === 0 || !this.pool.available()) {
        await this.sleep();
        continue;
      }
      try {
        if (!(await this.moveBatch())) await this.sleep();
      } catch (error) {
        this.logger.error({ err: error, spool: this.spool.dir }, "draining the spool failed; trying again");
        await this.sleep();
      }
    }
  }

  /** Moves one batch; false when there was nothing to move or no node took it. */
  private async moveBatch(): Promise<boolean> {
    const batch = await this.spool.peek(this.batchEvents);
    if (batch === undefined) return false;
    const pushed = await this.pool.push(batch.events);
    if (pushed.maybeAppliedOn !== undefined) {
      this.logger.warn(
        {
          clickstore: pushed.maybeAppliedOn,
          clickIds: batch.events.map(clickIdOf),
          retried: batch.events.length,
          possibleDuplicate: true,
        },
        "a spooled batch may have reached Redis although its push failed; it is pushed again (possible duplicates)",
      );
    }
    if (!pushed.stored) return false;
    await this.spool.acknowledge(batch);
    this.drained += batch.events.length;
    if (this.spool.pendingEvents === 0) {
      this.logger.info({ events: this.drained, spool: this.spool.dir }, "the spool is drained");
      this.drained = 0;
    }
    return true;
  }

  private sleep(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.retryMs);
      timer.unref();
      this.wakeUp = done;
    });
  }
}

import { clickIdOf } from "../click/event";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics/metrics";
import type { BreakerSettings } from "./breaker";
import type { Clickstore, ClickstoreHealth, PushOutcome } from "./clickstore";
import { Drainer } from "./drainer";
import { ClickstorePool } from "./pool";
import { Spool } from "./spool";

export interface RedisClickstoreOptions {
  urls: string[];
  pushTimeoutMs: number;
  breaker: BreakerSettings;
  spool: { dir: string; maxBytes: number };
  logger: Logger;
  metrics: Metrics;
}

/**
 * The production clickstore: every event goes to a Redis node (round robin, breakers), else to the
 * durable local spool, from which the drainer moves it to Redis later. Only when the spool cannot take
 * it either is a click lost, and then it is counted and its whole event is logged at error level.
 */
export class RedisClickstore implements Clickstore {
  readonly description: string;
  private readonly pool: ClickstorePool;
  private readonly spool: Spool;
  private readonly drainer: Drainer;
  private readonly logger: Logger;
  private dropped = 0;
  private retriedAfterTimeout = 0;
  private inFlight = 0;
  private idle: (() => void) | undefined;

  private constructor(pool: ClickstorePool, spool: Spool, logger: Logger) {
    this.pool = pool;
    this.spool = spool;
    this.logger = logger;
    this.drainer = new Drainer({ spool, pool, logger });
    this.description = `${pool.description}; spool: ${spool.dir}`;
  }

  /** Opens the spool (taking over a previous process's leftovers) and starts draining it. */
  static async open(options: RedisClickstoreOptions): Promise<RedisClickstore> {
    const spool = await Spool.open({ ...options.spool, logger: options.logger });
    const pool = new ClickstorePool(options);
    options.metrics.watchSpool(spool);
    const store = new RedisClickstore(pool, spool, options.logger);
    options.metrics.watchDroppedClicks(() => store.dropped);
    store.drainer.start();
    return store;
  }

  async push(event: string): Promise<PushOutcome> {
    this.inFlight += 1;
    try {
      const pushed = await this.pool.push(event);
      let outcome: PushOutcome = "stored";
      if (!pushed.stored) outcome = (await this.spool.append(event)) ? "spooled" : "dropped";
      if (pushed.maybeAppliedOn !== undefined) this.retriedElsewhere(event, pushed.maybeAppliedOn, outcome);
      if (outcome === "spooled") this.drainer.wake();
      else if (outcome === "dropped") this.lost(event);
      return outcome;
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.idle?.();
    }
  }

  async health(): Promise<ClickstoreHealth> {
    const nodes = await this.pool.health();
    const spoolAccepts = this.spool.acceptsClicks;
    return {
      acceptsClicks: spoolAccepts || nodes.some((node) => node.answersPing),
      store: this.description,
      nodes,
      spool: {
        dir: this.spool.dir,
        events: this.spool.pendingEvents,
        bytes: this.spool.bytes,
        maxBytes: this.spool.maxBytes,
        acceptsClicks: spoolAccepts,
      },
      dropped: this.dropped,
      retriedAfterTimeout: this.retriedAfterTimeout,
    };
  }

  ready(timeoutMs: number): Promise<void> {
    return this.pool.ready(timeoutMs);
  }

  /** Called once the server no longer hands out clicks: pushes in flight end in Redis or the spool first. */
  async close(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.drainer.stop();
    await this.spool.close();
    await this.pool.close();
  }

  private retriedElsewhere(event: string, node: string, outcome: PushOutcome): void {
    this.retriedAfterTimeout += 1;
    this.logger.warn(
      {
        clickId: clickIdOf(event),
        clickstore: node,
        outcome,
        possibleDuplicate: true,
        retriedAfterTimeout: this.retriedAfterTimeout,
      },
      "a push failed after it may have reached Redis; the click went elsewhere (possible duplicate)",
    );
  }

  private lost(event: string): void {
    this.dropped += 1;
    this.logger.error(
      {
        clickId: clickIdOf(event),
        event,
        dropped: this.dropped,
        spool: { dir: this.spool.dir, bytes: this.spool.bytes, maxBytes: this.spool.maxBytes },
      },
      "CLICK LOST: no Redis node took it and the spool is full or failing; the event is only in this log line",
    );
  }
}

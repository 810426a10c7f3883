import Redis from "ioredis";
import type { Logger } from "../logger";
import type { NodeMetrics, PushResult } from "../metrics/metrics";
import { PushBatcher } from "./batch";
import { CLICK_QUEUE, redactUrl } from "./clickstore";

export interface RedisNodeOptions {
  url: string;
  /** A command that takes longer fails, so the click can go elsewhere. */
  pushTimeoutMs: number;
  logger: Logger;
  metrics: NodeMetrics;
}

// ioredis rejects a command that outlived `commandTimeout` with exactly this message.
const TIMED_OUT = "Command timed out";

function failureOf(error: unknown): PushResult {
  return error instanceof Error && error.message === TIMED_OUT ? "timeout" : "error";
}

/**
 * A push that failed. `maybeApplied` tells whether Redis may still have applied it: true when the
 * command was sent and then timed out or lost its connection (a SIGSTOPped Redis applies it when it
 * resumes), false when it was never sent or Redis refused it. Retrying a maybe-applied push is the
 * duplicate window of at-least-once delivery.
 */
export class PushFailure extends Error {
  constructor(
    message: string,
    readonly maybeApplied: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "PushFailure";
  }
}

/**
 * One Redis clickstore, configured to fail fast rather than queue clicks while it is down.
 * Measured with ioredis 6.0.0 under Bun (docs/delivery.md: "Measured: ioredis 6.0.0 under Bun 1.4.5"):
 * with the offline queue off, a command to a node that is down or still connecting fails at once;
 * a command to a SIGSTOPped node fails after `commandTimeout` while the connection stays "ready";
 * commands in flight when the connection drops fail at once (maxRetriesPerRequest 0) and are not
 * resent after reconnecting.
 */
export class RedisNode {
  readonly name: string;
  private readonly client: Redis;
  private readonly metrics: NodeMetrics;
  // The clicks of one event-loop turn go out as one RPUSH, unless the connection went away meanwhile:
  // then they were never sent, and no retry of them can make a duplicate.
  private readonly batcher = new PushBatcher((events) =>
    this.client.status === "ready"
      ? this.client.rpush(CLICK_QUEUE, ...events)
      : Promise.reject(new PushFailure(`not connected (${this.client.status})`, false)),
  );

  constructor(options: RedisNodeOptions) {
    this.name = redactUrl(options.url);
    this.client = new Redis(options.url, {
      // Without these ioredis holds a command for ~73 s while Redis is down.
      enableOfflineQueue: false,
      commandTimeout: options.pushTimeoutMs,
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
      // Concurrent commands share round trips. RPUSHes are batched already (PushBatcher): waiting
      // another loop turn for the auto-pipeline would only add latency.
      enableAutoPipelining: true,
      autoPipeliningIgnoredCommands: ["rpush"],
    });
    this.metrics = options.metrics;
    this.metrics.watchConnection(() => this.client.status === "ready");
    const logger = options.logger.child({ clickstore: this.name });
    let reported = false;
    this.client.on("error", (error: Error) => {
      if (reported) return;
      reported = true;
      logger.warn({ err: error.message }, "clickstore connection error");
    });
    this.client.on("ready", () => {
      if (reported) logger.info("clickstore connected again");
      reported = false;
    });
  }

  /** ioredis's connection state: ready, connect, reconnecting, end, … */
  get connection(): string {
    return this.client.status;
  }

  /**
   * RPUSH of one event (sent together with the other events pushed in the same event-loop turn), or
   * of a batch as one command; all or nothing. Rejects with a PushFailure.
   */
  async push(events: string | readonly string[]): Promise<void> {
    const started = performance.now();
    if (this.client.status !== "ready") {
      this.metrics.recordPush("error", started);
      throw new PushFailure(`not connected (${this.client.status})`, false);
    }
    try {
      // One click's event joins the other clicks of this event-loop turn in one RPUSH.
      if (typeof events === "string") await this.batcher.push(events);
      else await this.client.rpush(CLICK_QUEUE, ...events);
    } catch (error) {
      this.metrics.recordPush(failureOf(error), started);
      if (error instanceof PushFailure) throw error;
      const refused = error instanceof Error && error.name === "ReplyError";
      throw new PushFailure(error instanceof Error ? error.message : String(error), !refused, {
        cause: error,
      });
    }
    this.metrics.recordPush("ok", started);
  }

  async ping(): Promise<boolean> {
    if (this.client.status !== "ready") return false;
    try {
      return (await this.client.ping()) === "PONG";
    } catch {
      return false;
    }
  }

  /** Calls `listener` whenever the connection becomes ready again, e.g. after Redis restarted. */
  onReady(listener: () => void): void {
    this.client.on("ready", listener);
  }

  /** Resolves once connected, or once the first attempt failed (a dead node need not delay the start), or at the timeout. */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.client.status === "ready") return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.client.off("ready", onReady);
        this.client.off("error", onError);
        resolve(value);
      };
      const onReady = () => done(true);
      const onError = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.client.on("ready", onReady);
      this.client.on("error", onError);
    });
  }

  async close(): Promise<void> {
    this.batcher.flush();
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

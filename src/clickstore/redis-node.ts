import Redis from "ioredis";
import type { Logger } from "../logger";
import type { NodeMetrics, PushResult } from "../metrics/metrics";
import { CLICK_QUEUE, redactUrl } from "./clickstore";

export interface RedisNodeOptions {
  url: string;
  /** A push that takes longer fails, so the click can go elsewhere. */
  pushTimeoutMs: number;
  logger: Logger;
  metrics: NodeMetrics;
}

// ioredis rejects a command that outlived `commandTimeout` with exactly this message.
const TIMED_OUT = "Command timed out";

function failureOf(error: unknown): PushResult {
  return error instanceof Error && error.message === TIMED_OUT ? "timeout" : "error";
}

/** One Redis clickstore, configured to fail fast rather than queue clicks while it is down. */
export class RedisNode {
  readonly name: string;
  private readonly client: Redis;
  private readonly metrics: NodeMetrics;

  constructor(options: RedisNodeOptions) {
    this.name = redactUrl(options.url);
    this.client = new Redis(options.url, {
      // Without these ioredis holds a command for ~73 s while Redis is down.
      enableOfflineQueue: false,
      commandTimeout: options.pushTimeoutMs,
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
      // Concurrent clicks share round trips.
      enableAutoPipelining: true,
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

  async push(event: string): Promise<void> {
    const started = performance.now();
    try {
      await this.client.rpush(CLICK_QUEUE, event);
    } catch (error) {
      this.metrics.recordPush(failureOf(error), started);
      throw error;
    }
    this.metrics.recordPush("ok", started);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.client.ping()) === "PONG";
    } catch {
      return false;
    }
  }

  ready(timeoutMs: number): Promise<boolean> {
    if (this.client.status === "ready") return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.client.off("ready", onReady);
        resolve(value);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.client.on("ready", onReady);
    });
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

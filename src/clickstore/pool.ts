import type { Logger } from "../logger";
import type { Metrics } from "../metrics/metrics";
import { type Clickstore, nodeLabel } from "./clickstore";
import { RedisNode } from "./redis-node";

export interface ClickstorePoolOptions {
  urls: string[];
  pushTimeoutMs: number;
  logger: Logger;
  metrics: Metrics;
}

/** Spreads events round-robin over the Redis clickstores; a failed push is tried on the next node. */
export class ClickstorePool implements Clickstore {
  readonly description: string;
  private readonly nodes: RedisNode[];
  private next = 0;

  constructor(options: ClickstorePoolOptions) {
    if (options.urls.length === 0) throw new Error("a clickstore pool needs at least one Redis URL");
    this.nodes = options.urls.map(
      (url) =>
        new RedisNode({
          url,
          pushTimeoutMs: options.pushTimeoutMs,
          logger: options.logger,
          metrics: options.metrics.clickstoreNode(nodeLabel(url)),
        }),
    );
    this.description = `redis: ${this.nodes.map((node) => node.name).join(", ")}`;
  }

  async push(event: string): Promise<void> {
    let lastError: unknown;
    for (let tries = 0; tries < this.nodes.length; tries++) {
      const node = this.nodes[this.next] as RedisNode;
      this.next = (this.next + 1) % this.nodes.length;
      try {
        await node.push(event);
        return;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  async healthy(): Promise<boolean> {
    const answers = await Promise.all(this.nodes.map((node) => node.ping()));
    return answers.every(Boolean);
  }

  async ready(timeoutMs: number): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.ready(timeoutMs)));
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.close()));
  }
}

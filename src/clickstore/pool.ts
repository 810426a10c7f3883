import type { Logger } from "../logger";
import type { Metrics, NodeMetrics } from "../metrics/metrics";
import { type BreakerSettings, CircuitBreaker } from "./breaker";
import { type NodeHealth, nodeLabel } from "./clickstore";
import { PushFailure, RedisNode } from "./redis-node";

export interface ClickstorePoolOptions {
  urls: string[];
  pushTimeoutMs: number;
  breaker: BreakerSettings;
  logger: Logger;
  metrics: Metrics;
}

/** What a push to the pool came to. */
export interface PoolPush {
  /** A node acknowledged the events. */
  stored: boolean;
  /** The last node whose push failed after it may have been applied: the events may be on it as well. */
  maybeAppliedOn: string | undefined;
}

interface Member {
  node: RedisNode;
  breaker: CircuitBreaker;
  metrics: NodeMetrics;
  probeTimer: ReturnType<typeof setTimeout> | undefined;
}

// The common case allocates nothing.
const STORED: PoolPush = { stored: true, maybeAppliedOn: undefined };

/**
 * Spreads events round-robin over the Redis clickstores. A push that fails is tried on the next node;
 * a node whose breaker is open is skipped, and probed with PING in the background until it answers.
 */
export class ClickstorePool {
  readonly description: string;
  private readonly members: Member[];
  private readonly logger: Logger;
  private readonly availableListeners: Array<() => void> = [];
  private next = 0;
  private closed = false;

  constructor(options: ClickstorePoolOptions) {
    if (options.urls.length === 0) throw new Error("a clickstore pool needs at least one Redis URL");
    this.logger = options.logger;
    this.members = options.urls.map((url) => {
      const metrics = options.metrics.clickstoreNode(nodeLabel(url));
      const member: Member = {
        node: new RedisNode({ url, pushTimeoutMs: options.pushTimeoutMs, logger: options.logger, metrics }),
        breaker: new CircuitBreaker(options.breaker),
        metrics,
        probeTimer: undefined,
      };
      metrics.setCircuit(member.breaker.state);
      // A reconnect is news that the node is back: probe now rather than at the end of the backoff.
      member.node.onReady(() => {
        if (member.breaker.state === "open") void this.probe(member, true);
        else if (member.breaker.closed) this.announceAvailable();
      });
      return member;
    });
    this.description = `redis: ${this.members.map(({ node }) => node.name).join(", ")}`;
  }

  /** Pushes one event, or a batch as one command, to the next node that takes it. */
  async push(events: string | readonly string[]): Promise<PoolPush> {
    const count = this.members.length;
    // Each push starts one node further and tries every node once, whatever concurrent pushes do meanwhile.
    const start = this.next;
    this.next = (start + 1) % count;
    let maybeAppliedOn: string | undefined;
    for (let tried = 0; tried < count; tried++) {
      const member = this.members[(start + tried) % count] as Member;
      if (!member.breaker.closed) continue;
      try {
        await member.node.push(events);
        member.breaker.succeeded();
        return maybeAppliedOn === undefined ? STORED : { stored: true, maybeAppliedOn };
      } catch (error) {
        if (error instanceof PushFailure && error.maybeApplied) maybeAppliedOn = member.node.name;
        this.failed(member, error);
      }
    }
    return { stored: false, maybeAppliedOn };
  }

  /** True when some node's breaker is closed and its connection is up. */
  available(): boolean {
    return this.members.some(({ node, breaker }) => breaker.closed && node.connection === "ready");
  }

  /** Calls `listener` whenever a node becomes usable again (its breaker closed, or it reconnected). */
  onAvailable(listener: () => void): void {
    this.availableListeners.push(listener);
  }

  async health(): Promise<NodeHealth[]> {
    return Promise.all(
      this.members.map(async ({ node, breaker }) => ({
        name: node.name,
        breaker: breaker.state,
        connection: node.connection,
        answersPing: await node.ping(),
      })),
    );
  }

  async ready(timeoutMs: number): Promise<void> {
    await Promise.all(this.members.map(({ node }) => node.ready(timeoutMs)));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const member of this.members) clearTimeout(member.probeTimer);
    await Promise.all(this.members.map(({ node }) => node.close()));
  }

  private failed(member: Member, error: unknown): void {
    const waitMs = member.breaker.failed(Date.now());
    if (waitMs === undefined) return;
    member.metrics.setCircuit(member.breaker.state);
    this.logger.warn(
      {
        clickstore: member.node.name,
        err: error instanceof Error ? error.message : String(error),
        probeInMs: waitMs,
      },
      "clickstore breaker opened: no clicks go to this node until a probe answers",
    );
    this.scheduleProbe(member, waitMs);
  }

  private scheduleProbe(member: Member, waitMs: number): void {
    clearTimeout(member.probeTimer);
    if (this.closed) return;
    member.probeTimer = setTimeout(() => void this.probe(member, false), waitMs);
    // A pending probe must not keep a stopping process alive.
    member.probeTimer.unref();
  }

  private async probe(member: Member, early: boolean): Promise<void> {
    if (this.closed || !member.breaker.startProbe(Date.now(), early)) return;
    clearTimeout(member.probeTimer);
    member.metrics.setCircuit(member.breaker.state);
    if (await member.node.ping()) {
      member.breaker.probeSucceeded();
      member.metrics.setCircuit(member.breaker.state);
      this.logger.info({ clickstore: member.node.name }, "clickstore breaker closed: the node answers again");
      this.announceAvailable();
      return;
    }
    const waitMs = member.breaker.probeFailed(Date.now());
    member.metrics.setCircuit(member.breaker.state);
    this.logger.info({ clickstore: member.node.name, probeInMs: waitMs }, "clickstore probe failed");
    this.scheduleProbe(member, waitMs);
  }

  private announceAvailable(): void {
    for (const listener of this.availableListeners) listener();
  }
}

/** When a node's breaker opens and how long it stays open; the original's settings are 5, 2 s, 128 s. */
export interface BreakerSettings {
  /** Consecutive failed pushes that open the breaker. */
  failureThreshold: number;
  /** Wait before the first probe of an open breaker; it doubles with every opening that a push has not proven wrong. */
  firstProbeMs: number;
  /** The longest wait between probes. */
  maxProbeMs: number;
}

/**
 * closed: pushes go to the node. open: they don't; a probe is due at `probeAtMs`.
 * probing: a probe is on its way; pushes still don't go to the node.
 */
export type BreakerState = "closed" | "open" | "probing";

/**
 * One node's circuit breaker, as plain state: the caller reports what happened and runs the probes.
 * A dead node then costs clicks no latency: while the breaker is open, no click waits on it.
 */
export class CircuitBreaker {
  private current: BreakerState = "closed";
  private failures = 0;
  // Openings since the last successful push: the backoff exponent. A probe that answers does not reset
  // it, so a node that answers PING but refuses pushes backs off instead of flapping every 2 s.
  private openings = 0;
  private probeAt = 0;

  constructor(private readonly settings: BreakerSettings) {}

  get state(): BreakerState {
    return this.current;
  }

  /** True when pushes may go to the node. */
  get closed(): boolean {
    return this.current === "closed";
  }

  /** When the next probe is due (epoch ms); meaningful while open. */
  get probeAtMs(): number {
    return this.probeAt;
  }

  /** A push went through: the node is healthy and the backoff starts over. */
  succeeded(): void {
    if (this.current !== "closed") return;
    this.failures = 0;
    this.openings = 0;
  }

  /** A push failed. Returns the wait until the first probe when this failure opened the breaker. */
  failed(nowMs: number): number | undefined {
    // Failures of pushes sent before the breaker opened change nothing: the probe decides now.
    if (this.current !== "closed") return undefined;
    this.failures += 1;
    return this.failures >= this.settings.failureThreshold ? this.open(nowMs) : undefined;
  }

  /**
   * Claims the probe if it is due (or `early`, when there is news that the node is back).
   * True: the caller probes now and reports with `probeSucceeded` or `probeFailed`.
   */
  startProbe(nowMs: number, early = false): boolean {
    if (this.current !== "open" || (!early && nowMs < this.probeAt)) return false;
    this.current = "probing";
    return true;
  }

  probeSucceeded(): void {
    if (this.current !== "probing") return;
    this.current = "closed";
    this.failures = 0;
  }

  /** Returns the wait until the next probe. */
  probeFailed(nowMs: number): number {
    return this.open(nowMs);
  }

  private open(nowMs: number): number {
    const { firstProbeMs, maxProbeMs } = this.settings;
    const waitMs = Math.min(firstProbeMs * 2 ** Math.min(this.openings, 30), maxProbeMs);
    this.openings += 1;
    this.failures = 0;
    this.current = "open";
    this.probeAt = nowMs + waitMs;
    return waitMs;
  }
}

/**
 * At most one request per interval to each host (name and port), however many checks want one:
 * each caller reserves the next free slot of its host and sleeps until then.
 */
export class HostPacer {
  private readonly next = new Map<string, number>();

  constructor(
    private readonly intervalMs = 1_000,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => Bun.sleep(ms),
  ) {}

  /** Resolves when a request to `host` may go; no other caller gets a slot within the interval. */
  async slot(host: string): Promise<void> {
    const now = this.now();
    const at = Math.max(now, this.next.get(host) ?? 0);
    this.next.set(host, at + this.intervalMs);
    if (at > now) await this.sleep(at - now);
  }

  /** Forgets hosts whose last slot has passed, so the map holds only the hosts in use. */
  prune(): void {
    const now = this.now();
    for (const [host, next] of this.next) if (next <= now) this.next.delete(host);
  }
}

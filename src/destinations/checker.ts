import type { AdvisoryLock } from "../db/database";
import type { CampaignLink } from "../db/schema";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics/metrics";
import { within } from "../within";
import { HostPacer } from "./pacer";
import { checkDestination, type ProbeOptions } from "./probe";
import type { DestinationRepository } from "./repository";
import type { DestinationStates } from "./states";
import { distinctTargets, type TargetUse } from "./targets";
import { nextStatus } from "./verdict";

/** The advisory lock whose holder checks: "clkd". */
export const CHECKER_LOCK_KEY = 0x636c6b64;

/** The longest a stop waits for the round under way to notice. */
const STOP_WAIT_MS = 2_000;

/** Hosts checked at the same time; each host's own checks run one after another at its pace. */
const PARALLEL_HOSTS = 16;

export interface CheckerOptions {
  /** A round of checks starts this long after the previous one started (or right after it, when longer). */
  intervalMs: number;
  links: { all(): Iterable<CampaignLink> };
  /** False until the links are loaded: a round before would take an empty cache for "no targets". */
  linksLoaded(): boolean;
  repository: DestinationRepository;
  states: DestinationStates;
  lock: AdvisoryLock;
  logger: Logger;
  metrics: Metrics;
  /** For tests only: the CA their HTTPS destinations use. */
  ca?: string;
}

function hostOf(target: string): string {
  return URL.canParse(target) ? new URL(target).host : "";
}

/**
 * The background checks. Every machine runs one; only the holder of the advisory lock checks, the
 * others ask for the lock again every little while and take over when its holder stops (its
 * connection closes). The holder re-asserts the lock before each write, so a holder that lost its
 * connection stops writing.
 */
export class DestinationChecker {
  private readonly pacer = new HostPacer();
  private readonly stopping = new AbortController();
  private readonly probe: ProbeOptions;
  private readonly retryMs: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private holding = false;
  private stopped = false;

  constructor(private readonly options: CheckerOptions) {
    this.probe = {
      pacer: this.pacer,
      signal: this.stopping.signal,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    };
    // A machine that does not check asks for the lock this often, so a takeover takes seconds.
    this.retryMs = Math.min(options.intervalMs, 5_000);
  }

  start(): void {
    this.schedule(0);
  }

  /** Cuts the checks under way; a round's writes end with them (a pacer's wait lasts a second at most). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopping.abort();
    if (this.running) await within(this.running, STOP_WAIT_MS, () => undefined);
    await this.options.lock.close();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    if (!(await this.hold())) {
      this.schedule(this.retryMs);
      return;
    }
    const started = Date.now();
    await this.round();
    this.schedule(Math.max(0, started + this.options.intervalMs - Date.now()));
  }

  /** Whether this machine holds the lock; logs when that changes. */
  private async hold(): Promise<boolean> {
    let held: boolean;
    try {
      held = await this.options.lock.hold();
    } catch {
      held = false;
    }
    if (held !== this.holding && !this.stopped) {
      this.holding = held;
      if (held) this.options.logger.info("destination checks: this machine checks");
      else this.options.logger.info("destination checks: this machine stopped checking (lock lost)");
    }
    return held;
  }

  /** Checks every distinct target once, hosts in parallel, each host's targets in turn. */
  private async round(): Promise<void> {
    if (!this.options.linksLoaded()) return;
    const targets = distinctTargets(this.options.links.all());
    await this.forgetUnused(targets);
    const byHost = new Map<string, string[]>();
    for (const url of targets.keys()) {
      const host = hostOf(url);
      const list = byHost.get(host);
      if (list) list.push(url);
      else byHost.set(host, [url]);
    }
    const queue = [...byHost.values()];
    const worker = async () => {
      for (let urls = queue.shift(); urls !== undefined && !this.stopped; urls = queue.shift()) {
        for (const url of urls) {
          if (this.stopped || !(await this.checkOne(url, targets.get(url) as TargetUse))) return;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_HOSTS, queue.length) }, worker));
    this.pacer.prune();
  }

  /** One check and its verdict, written if this machine still holds the lock; false: stop the round. */
  private async checkOne(url: string, use: TargetUse): Promise<boolean> {
    const { states, repository, metrics, logger } = this.options;
    const result = await checkDestination(url, use.platform, this.probe);
    if (this.stopped || !(await this.hold())) return false;
    metrics.countDestinationCheck(result.outcome);
    const previous = states.get(url);
    const status = nextStatus(previous, result, new Date());
    const changed = previous?.state !== status.state;
    try {
      await repository.save(url, status, changed);
    } catch (error) {
      logger.warn(
        { err: error, url },
        "destination state could not be written: checks pause until the next round",
      );
      return false;
    }
    states.set({ url, ...status });
    if (changed && status.state === "dead") {
      logger.warn({ url, reason: status.reason, links: use.links }, "destination dead");
    } else if (changed && previous?.state === "dead") {
      logger.info(
        { url, state: status.state, reason: status.reason, links: use.links },
        "destination no longer dead",
      );
    }
    return true;
  }

  /** States of URLs no link uses any more go, so the gauge and the CLI show only what is in use. */
  private async forgetUnused(targets: Map<string, TargetUse>): Promise<void> {
    const unused = [...this.options.states.all()].map((row) => row.url).filter((url) => !targets.has(url));
    if (unused.length === 0) return;
    try {
      await this.options.repository.remove(unused);
      for (const url of unused) this.options.states.forget(url);
    } catch (error) {
      this.options.logger.warn({ err: error }, "destinations no longer used could not be removed");
    }
  }
}

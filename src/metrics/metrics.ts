import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { NON_HUMAN_REASONS, type NonHumanReason } from "../click/non-human";
import { KNOWN_PLATFORMS } from "../click/platform";
import { type Cell, CellCounter, CellHistogram } from "./cells";

/** How a click ended, as counted in `clicks_total`. */
export const CLICK_OUTCOMES = ["redirected", "not_found", "unknown_link", "error"] as const;
export type ClickOutcome = (typeof CLICK_OUTCOMES)[number];

/** The platform label of a click that ended before its User-Agent was looked at (unknown link, early error). */
export const UNEXAMINED_PLATFORM = "unexamined";
// Labels come from the User-Agent, so they are bounded: the well-known names, and these.
const NO_PLATFORM = "none";
const OTHER_PLATFORM = "other";

export const PUSH_RESULTS = ["ok", "timeout", "error"] as const;
export type PushResult = (typeof PUSH_RESULTS)[number];

/** A node's circuit breaker: closed (pushes go to it), open (they don't), probing (a probe is under way). */
export const CIRCUIT_STATES = ["closed", "open", "probing"] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

export const API_ACTIONS = ["create", "delete"] as const;
export type ApiAction = (typeof API_ACTIONS)[number];
/** ok; invalid: 400; rejected: unsigned or badly signed (404); too_large: 413; disabled: no key (404); error: 500. */
export const API_RESULTS = ["ok", "invalid", "rejected", "too_large", "disabled", "error"] as const;
export type ApiResult = (typeof API_RESULTS)[number];

// A Redis push on a LAN takes well under a millisecond; REDIS_PUSH_TIMEOUT_MS is 250 by default.
const PUSH_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** What a clickstore node reports about itself; one per node, bound at start. */
export interface NodeMetrics {
  /** A push to this node ended with `result`; it started at `startedMs` (performance.now()). */
  recordPush(result: PushResult, startedMs: number): void;
  /** Read at scrape time: is the node's connection up? */
  watchConnection(connected: () => boolean): void;
  /** The node's circuit breaker moved to `state`. */
  setCircuit(state: CircuitState): void;
}

/** The link cache's own tallies, updated with a plain `++` on each lookup. */
export interface LinkCacheStats {
  /** Found in memory. */
  hits: number;
  /** Went to the database. */
  misses: number;
  /** Remembered as not existing, answered without the database. */
  knownMissing: number;
  /**
   * Not in memory and answered as unknown without asking the database: the cache holds every link
   * (changes reach it), or too many reads were already in flight.
   */
  unasked: number;
}

/** The durable spool's size, read at scrape time. */
export interface SpoolGauges {
  readonly pendingEvents: number;
  readonly bytes: number;
}

/** One cell per key, e.g. per outcome of one platform. */
function cellsBy<K extends string>(keys: readonly K[], cell: (key: K) => Cell): Record<K, Cell> {
  return Object.fromEntries(keys.map((key) => [key, cell(key)])) as Record<K, Cell>;
}

function outcomeCells(counter: CellCounter<"platform" | "outcome">, platform: string) {
  return cellsBy(CLICK_OUTCOMES, (outcome) => counter.cell({ platform, outcome }));
}

/**
 * Cells by the detector's platform name, bound once: a well-known name (or one of `alsoNamed`) is
 * its own label, "" is "none", any other name "other".
 */
class PlatformCells<T> {
  private readonly named = new Map<string, T>();
  private readonly other: T;

  constructor(cellsFor: (label: string) => T, alsoNamed: readonly string[] = []) {
    for (const platform of [...KNOWN_PLATFORMS, ...alsoNamed]) this.named.set(platform, cellsFor(platform));
    this.named.set("", cellsFor(NO_PLATFORM));
    this.other = cellsFor(OTHER_PLATFORM);
  }

  of(platform: string): T {
    return this.named.get(platform) ?? this.other;
  }
}

/**
 * Every metric of the service, in its own registry (not prom-client's global one, so that
 * several services in one process, as in tests, keep apart). Built once in startService.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly clicks: PlatformCells<Record<ClickOutcome, Cell>>;
  private readonly invalidIdfa: Cell;
  private readonly zeroedAdid: PlatformCells<Cell>;
  private readonly nonHuman: Record<NonHumanReason, Cell>;
  private readonly pushes: CellCounter<"node" | "result">;
  private readonly pushSeconds: CellHistogram;
  private readonly connections: Array<{ node: string; connected: () => boolean }> = [];
  private readonly circuit: Gauge<"node" | "state">;
  private readonly apiRequests: Counter<"action" | "result">;

  constructor() {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry });

    const clicks = new CellCounter(
      registry,
      "clicks_total",
      "Clicks by platform (from the User-Agent) and outcome.",
      ["platform", "outcome"],
    );
    this.clicks = new PlatformCells((platform) => outcomeCells(clicks, platform), [UNEXAMINED_PLATFORM]);

    this.invalidIdfa = new CellCounter(
      registry,
      "clicks_invalid_idfa_total",
      "Clicks that sent a device identifier of which none was usable.",
      [],
    ).cell({});
    const zeroed = new CellCounter(
      registry,
      "clicks_zeroed_adid_total",
      "Clicks whose device id was the all-zero id of a device that opted out of tracking (ATT, limit ad tracking), by platform.",
      ["platform"],
    );
    this.zeroedAdid = new PlatformCells((platform) => zeroed.cell({ platform }));
    const nonHuman = new CellCounter(
      registry,
      "clicks_non_human_total",
      "Clicks on a known link from no person, by reason: head (a HEAD request), crawler (a crawler or link-preview fetcher). Also counted in clicks_total.",
      ["reason"],
    );
    this.nonHuman = cellsBy(NON_HUMAN_REASONS, (reason) => nonHuman.cell({ reason }));
    this.pushes = new CellCounter(
      registry,
      "clicks_clickstore_pushes_total",
      "Event pushes to a clickstore node, by node and result.",
      ["node", "result"],
    );
    this.pushSeconds = new CellHistogram(
      "clicks_clickstore_push_duration_seconds",
      "How long a push to a clickstore node took, failed ones included.",
      "node",
      PUSH_SECONDS_BUCKETS,
    );
    const connections = this.connections;
    new Gauge<"node">({
      name: "clicks_clickstore_connected",
      help: "1 while the connection to the clickstore node is up, else 0.",
      labelNames: ["node"],
      registers: [registry],
      collect() {
        for (const { node, connected } of connections) this.set({ node }, connected() ? 1 : 0);
      },
    });
    this.circuit = new Gauge({
      name: "clicks_clickstore_circuit_state",
      help: "1 for the state the node's circuit breaker is in, 0 for the others.",
      labelNames: ["node", "state"],
      registers: [registry],
    });
    this.apiRequests = new Counter({
      name: "clicks_api_requests_total",
      help: "Link API requests by action and result.",
      labelNames: ["action", "result"],
      registers: [registry],
    });
    // Every series exists from the start, so that an alert on its increase sees the first one.
    for (const action of API_ACTIONS) {
      for (const result of API_RESULTS) this.apiRequests.inc({ action, result }, 0);
    }
  }

  /** The hot path: one Map lookup and one `++`. `platform` is the detector's name for it. */
  countClick(platform: string, outcome: ClickOutcome): void {
    this.clicks.of(platform)[outcome].value++;
  }

  countInvalidIdfa(): void {
    this.invalidIdfa.value++;
  }

  countZeroedAdid(platform: string): void {
    this.zeroedAdid.of(platform).value++;
  }

  countNonHuman(reason: NonHumanReason): void {
    this.nonHuman[reason].value++;
  }

  countApiRequest(action: ApiAction, result: ApiResult): void {
    this.apiRequests.inc({ action, result });
  }

  /** The recorder of one clickstore node; `node` is its label (no credentials). */
  clickstoreNode(node: string): NodeMetrics {
    const results = cellsBy(PUSH_RESULTS, (result) => this.pushes.cell({ node, result }));
    const latency = this.pushSeconds.cell(node);
    const histogram = this.pushSeconds;
    const circuit = this.circuit;
    const connections = this.connections;
    return {
      recordPush(result, startedMs) {
        results[result].value++;
        histogram.observe(latency, (performance.now() - startedMs) / 1000);
      },
      watchConnection(connected) {
        connections.push({ node, connected });
      },
      setCircuit(state) {
        for (const each of CIRCUIT_STATES) circuit.set({ node, state: each }, each === state ? 1 : 0);
      },
    };
  }

  watchLinkCache(cache: { readonly size: number; readonly stats: LinkCacheStats }): void {
    new Gauge({
      name: "clicks_link_cache_links",
      help: "Campaign links held in memory.",
      registers: [this.registry],
      collect() {
        this.set(cache.size);
      },
    });
    new Counter<"result">({
      name: "clicks_link_cache_lookups_total",
      help: "Link lookups by result: hit (in memory), miss (asked the database), known_missing (remembered as absent), unasked (unknown without asking: every link is in memory, or too many reads in flight).",
      labelNames: ["result"],
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc({ result: "hit" }, cache.stats.hits);
        this.inc({ result: "miss" }, cache.stats.misses);
        this.inc({ result: "known_missing" }, cache.stats.knownMissing);
        this.inc({ result: "unasked" }, cache.stats.unasked);
      },
    });
  }

  watchSpool(spool: SpoolGauges): void {
    new Gauge({
      name: "clicks_spool_events",
      help: "Click events waiting in the local spool for a clickstore.",
      registers: [this.registry],
      collect() {
        this.set(spool.pendingEvents);
      },
    });
    new Gauge({
      name: "clicks_spool_bytes",
      help: "Size of the local spool in bytes.",
      registers: [this.registry],
      collect() {
        this.set(spool.bytes);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The whole exposition, Prometheus text format. */
  async render(): Promise<string> {
    return `${await this.registry.metrics()}\n${this.pushSeconds.render()}`;
  }
}

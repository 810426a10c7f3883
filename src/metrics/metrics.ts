import { AggregatorRegistry, Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { REJECTION_REASONS, type RejectionReason } from "../api/authenticate";
import { NON_HUMAN_REASONS, type NonHumanReason } from "../click/non-human";
import { KNOWN_PLATFORMS } from "../click/platform";
import { DESTINATION_STATES, type DestinationState } from "../db/schema";
import { CHECK_OUTCOMES, type CheckOutcome } from "../destinations/probe";
import { type Cell, CellCounter, CellHistogram, type HistogramCell, type MetricJson } from "./cells";

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
// A click waits for its push (or the spool's fsync) and, on a miss, a bounded database lookup; Bun
// cuts a request off after 10 s.
const CLICK_SECONDS_BUCKETS = [...PUSH_SECONDS_BUCKETS, 2.5, 5, 10];

/** Why a request failed, as counted in `clicks_failed_requests_total`. */
export const FAILURE_REASONS = ["error", "not_ready"] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

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

/** What the metrics read of the link cache at scrape time. */
export interface LinkCacheGauges {
  readonly size: number;
  readonly stats: LinkCacheStats;
  readonly followsEveryChange: boolean;
  readonly loadedAtMs: number;
}

/** The durable spool's size, read at scrape time. */
export interface SpoolGauges {
  readonly pendingEvents: number;
  readonly bytes: number;
}

/** How many destinations are in each state, read at scrape time. */
export interface DestinationCounts {
  counts(): Record<DestinationState, number>;
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
  private readonly clickSeconds: CellHistogram;
  private readonly clickLatency: Record<ClickOutcome, HistogramCell>;
  private readonly failedRequests: Counter<"reason">;
  private readonly pushes: CellCounter<"node" | "result">;
  private readonly pushSeconds: CellHistogram;
  private readonly connections: Array<{ node: string; connected: () => boolean }> = [];
  private readonly circuit: Gauge<"node" | "state">;
  private readonly apiRequests: Counter<"action" | "result">;
  private readonly apiRejections: Counter<"reason">;
  private readonly deadTargetClicks: Cell;
  private readonly reroutedClicks: Cell;
  private readonly destinationChecks: Record<CheckOutcome, Cell>;

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
    this.clickSeconds = new CellHistogram(
      "clicks_click_duration_seconds",
      "How long a click took from its request to its answer (the event kept), by outcome.",
      "outcome",
      CLICK_SECONDS_BUCKETS,
    );
    const clickSeconds = this.clickSeconds;
    this.clickLatency = Object.fromEntries(
      CLICK_OUTCOMES.map((outcome) => [outcome, clickSeconds.cell(outcome)]),
    ) as Record<ClickOutcome, HistogramCell>;
    this.failedRequests = new Counter({
      name: "clicks_failed_requests_total",
      help: "Requests that failed: error (an unexpected failure, answered 500, or a GET sent to ERROR_PAGE_URL), not_ready (a click answered 503 before the links were loaded).",
      labelNames: ["reason"],
      registers: [registry],
    });
    for (const reason of FAILURE_REASONS) this.failedRequests.inc({ reason }, 0);

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
      // WORKERS=N: 1 only while every worker's connection is up.
      aggregator: "min",
      collect() {
        for (const { node, connected } of connections) this.set({ node }, connected() ? 1 : 0);
      },
    });
    this.circuit = new Gauge({
      name: "clicks_clickstore_circuit_state",
      help: "1 for the state the node's circuit breaker is in, 0 for the others.",
      labelNames: ["node", "state"],
      registers: [registry],
      // WORKERS=N: 1 for each state some worker's breaker is in.
      aggregator: "max",
    });
    this.apiRequests = new Counter({
      name: "clicks_api_requests_total",
      help: "Link API requests by action and result.",
      labelNames: ["action", "result"],
      registers: [registry],
    });
    this.apiRejections = new Counter({
      name: "clicks_api_rejections_total",
      help: "Link API requests answered 404 for their signature (result rejected), by reason.",
      labelNames: ["reason"],
      registers: [registry],
    });
    // Every series exists from the start, so that an alert on its increase sees the first one.
    for (const action of API_ACTIONS) {
      for (const result of API_RESULTS) this.apiRequests.inc({ action, result }, 0);
    }
    for (const reason of REJECTION_REASONS) this.apiRejections.inc({ reason }, 0);

    this.deadTargetClicks = new CellCounter(
      registry,
      "clicks_dead_target_total",
      "Clicks whose platform's target is a dead destination, rerouted or not.",
      [],
    ).cell({});
    this.reroutedClicks = new CellCounter(
      registry,
      "clicks_rerouted_total",
      "Clicks sent to a live target of their link because their platform's target is dead.",
      [],
    ).cell({});
    const checks = new CellCounter(
      registry,
      "clicks_destination_checks_total",
      "Destination checks by result: ok (a page is there), failed (404, 410, name or certificate wrong), inconclusive (timeout, 5xx, 429, refused, ...).",
      ["result"],
    );
    this.destinationChecks = cellsBy(CHECK_OUTCOMES, (result) => checks.cell({ result }));
  }

  /** A click whose target is dead; `rerouted`: it was sent to a live target instead. */
  countDeadTarget(rerouted: boolean): void {
    this.deadTargetClicks.value++;
    if (rerouted) this.reroutedClicks.value++;
  }

  countDestinationCheck(outcome: CheckOutcome): void {
    this.destinationChecks[outcome].value++;
  }

  /** The destinations gauge; only while destinations are checked. */
  watchDestinations(destinations: DestinationCounts): void {
    new Gauge<"state">({
      name: "clicks_destinations",
      help: "Distinct target URLs by the state their checks found: alive, dead, unknown.",
      labelNames: ["state"],
      registers: [this.registry],
      // WORKERS=N: every worker follows the same shared states.
      aggregator: "max",
      collect() {
        const counts = destinations.counts();
        for (const state of DESTINATION_STATES) this.set({ state }, counts[state]);
      },
    });
  }

  /**
   * The hot path: one Map lookup, one `++` and one bucket. `platform` is the detector's name for it;
   * `startedMs` is performance.now() when the request arrived.
   */
  countClick(platform: string, outcome: ClickOutcome, startedMs: number): void {
    this.clicks.of(platform)[outcome].value++;
    this.clickSeconds.observe(this.clickLatency[outcome], (performance.now() - startedMs) / 1000);
  }

  countFailedRequest(reason: FailureReason): void {
    this.failedRequests.inc({ reason });
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

  /** A request refused for its signature: `rejected` among the requests, and why. */
  countApiRejection(action: ApiAction, reason: RejectionReason): void {
    this.apiRequests.inc({ action, result: "rejected" });
    this.apiRejections.inc({ reason });
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

  watchLinkCache(cache: LinkCacheGauges): void {
    new Gauge({
      name: "clicks_link_cache_links",
      help: "Campaign links held in memory.",
      registers: [this.registry],
      // WORKERS=N: every worker holds every link.
      aggregator: "max",
      collect() {
        this.set(cache.size);
      },
    });
    new Gauge({
      name: "clicks_link_changes_followed",
      help: "1 while every link change reaches this instance as it happens (the change feed is live and a reload since its connection succeeded), else 0: changes then arrive with the next reload.",
      registers: [this.registry],
      // WORKERS=N: 1 only while every worker follows.
      aggregator: "min",
      collect() {
        this.set(cache.followsEveryChange ? 1 : 0);
      },
    });
    new Gauge({
      name: "clicks_links_loaded_timestamp_seconds",
      help: "When every link was last read from the database (Unix seconds), 0 before the first load.",
      registers: [this.registry],
      // WORKERS=N: the worker whose links are the oldest.
      aggregator: "min",
      collect() {
        this.set(cache.loadedAtMs / 1000);
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

  /** Clicks no clickstore node and no spool could take (lost), as the clickstore tallies them. */
  watchDroppedClicks(dropped: () => number): void {
    new Counter({
      name: "clicks_dropped_total",
      help: "Clicks lost: no clickstore node took the event and the spool was full or failing (each one is logged whole at error level).",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(dropped());
      },
    });
  }

  /** 1 while /check answers 200 (links loaded and a node or the spool takes clicks), read at scrape time. */
  watchReadiness(ready: () => Promise<boolean>): void {
    new Gauge({
      name: "clicks_ready",
      help: "1 while /check answers 200: the links are loaded and a clickstore node or the spool takes clicks; else 0.",
      registers: [this.registry],
      // WORKERS=N: 1 only while every worker is (a worker that is not answers its clicks with 503).
      aggregator: "min",
      async collect() {
        this.set((await ready()) ? 1 : 0);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The whole exposition, Prometheus text format. */
  async render(): Promise<string> {
    return `${await this.registry.metrics()}\n${this.pushSeconds.render()}${this.clickSeconds.render()}`;
  }

  /** Every metric as data, for the primary to add up over the workers (see `renderAggregate`). */
  async json(): Promise<MetricJson[]> {
    const metrics: MetricJson[] = await this.registry.getMetricsAsJSON();
    for (const histogram of [this.pushSeconds.json(), this.clickSeconds.json()]) {
      if (histogram !== undefined) metrics.push(histogram);
    }
    return metrics;
  }
}

/**
 * The exposition of several workers' metrics as one: counters and histograms summed, gauges by
 * their aggregator (summed unless it says otherwise), as prom-client does for cluster workers.
 */
export function renderAggregate(workers: MetricJson[][]): Promise<string> {
  return AggregatorRegistry.aggregate(workers).metrics();
}

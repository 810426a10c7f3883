import type { EventCount } from "./events";
import type { Shape } from "./options";
import type { Memory } from "./proc";
import type { WrkResult } from "./wrk";

export interface RunResult {
  shape: Shape;
  target: string;
  kind: "baseline" | "service";
  workers: number;
  rep: number;
  clicksPerSecond: number;
  /** CPU time per answered click: the server under test, redis-server, and wrk itself. */
  cpuUsPerClick: { target: number; redis: number; wrk: number };
  wrk: WrkResult;
  events: EventCount | undefined;
  /** Pushes the service retried after a failure that may have reached Redis: each may make one duplicate. */
  retriedAfterTimeout: number;
  memory: Memory | undefined;
}

export interface Row {
  shape: Shape;
  target: string;
  kind: "baseline" | "service";
  workers: number;
  runs: number;
  /** Medians over the runs. */
  clicksPerSecond: number;
  /** Median of each run's clicks/s over the baseline's in the same repetition. */
  ratio: number | undefined;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  cpuUsPerClick: { target: number; redis: number; wrk: number };
  /** Summed over the runs. */
  errors: number;
  lost: number;
  extra: number;
  duplicates: number;
  retriedAfterTimeout: number;
}

export interface Summary {
  rows: Row[];
  memory: Record<string, { peakMb: number; currentMb: number; processes: number }>;
  final: { ratio: number; p99Ms: number; rssMb: number; lost: number; target: string } | undefined;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Failed answers. With a new connection per click the server closes each connection after its
 * answer, and wrk, which sees no `Connection: close` in the answer, finds the socket closed on its
 * next write: those read/write errors are the shape, not failures.
 */
export function errorCount(run: RunResult): number {
  const errors = run.wrk.errors;
  const closing = run.shape !== "keep-alive";
  return errors.connect + errors.timeout + run.wrk.other + (closing ? 0 : errors.read + errors.write);
}

/** 307s answered for main links whose event is not in Redis. */
export function lostOf(run: RunResult): number {
  return run.events ? Math.max(0, run.wrk.main_307 - run.events.distinctMain) : 0;
}

/** Clicks in Redis beyond the 307s answered: stored without their answer reaching the client. */
function extraOf(run: RunResult): number {
  return run.events ? Math.max(0, run.events.distinctMain - run.wrk.main_307) : 0;
}

const MB = 2 ** 20;

export function summarize(runs: RunResult[], memory: Record<string, Memory>, shapes: Shape[]): Summary {
  const rows: Row[] = [];
  for (const shape of shapes) {
    const ofShape = runs.filter((run) => run.shape === shape);
    const baselineByRep = new Map(
      ofShape.filter((run) => run.kind === "baseline").map((run) => [run.rep, run.clicksPerSecond]),
    );
    for (const target of [...new Set(ofShape.map((run) => run.target))]) {
      const own = ofShape.filter((run) => run.target === target);
      const first = own[0] as RunResult;
      const ratios = own.flatMap((run) => {
        const baseline = baselineByRep.get(run.rep);
        return run.kind === "service" && baseline ? [run.clicksPerSecond / baseline] : [];
      });
      rows.push({
        shape,
        target,
        kind: first.kind,
        workers: first.workers,
        runs: own.length,
        clicksPerSecond: median(own.map((run) => run.clicksPerSecond)),
        ratio: ratios.length > 0 ? median(ratios) : undefined,
        p50Ms: median(own.map((run) => run.wrk.latency_us.p50 / 1000)),
        p99Ms: median(own.map((run) => run.wrk.latency_us.p99 / 1000)),
        p999Ms: median(own.map((run) => run.wrk.latency_us.p999 / 1000)),
        cpuUsPerClick: {
          target: median(own.map((run) => run.cpuUsPerClick.target)),
          redis: median(own.map((run) => run.cpuUsPerClick.redis)),
          wrk: median(own.map((run) => run.cpuUsPerClick.wrk)),
        },
        errors: own.reduce((sum, run) => sum + errorCount(run), 0),
        lost: own.reduce((sum, run) => sum + lostOf(run), 0),
        extra: own.reduce((sum, run) => sum + extraOf(run), 0),
        duplicates: own.reduce((sum, run) => sum + (run.events?.duplicates ?? 0), 0),
        retriedAfterTimeout: own.reduce((sum, run) => sum + run.retriedAfterTimeout, 0),
      });
    }
  }
  const memoryMb = Object.fromEntries(
    Object.entries(memory).map(([name, each]) => [
      name,
      { peakMb: each.peak / MB, currentMb: each.current / MB, processes: each.processes },
    ]),
  );

  // The headline is the default configuration (the fewest workers): its worst shape.
  // This tree's service (not one of another revision, --compare).
  const services = rows.filter((row) => row.kind === "service" && !row.target.includes("@"));
  const fewest = Math.min(...services.map((row) => row.workers));
  const headline = services.filter((row) => row.workers === fewest);
  const first = headline[0];
  const final =
    first === undefined
      ? undefined
      : {
          target: first.target,
          ratio: Math.min(...headline.map((row) => row.ratio ?? 0)),
          p99Ms: Math.max(...headline.map((row) => row.p99Ms)),
          rssMb: memoryMb[first.target]?.peakMb ?? 0,
          lost: services.reduce((sum, row) => sum + row.lost, 0),
        };
  return { rows, memory: memoryMb, final };
}

function cell(text: string, width: number): string {
  return text.padStart(width);
}

export function table(summary: Summary, httpsNote: string | undefined): string {
  const header = [
    "shape",
    "target",
    "clicks/s",
    "ratio",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "cpu µs",
    "redis µs",
    "wrk µs",
    "errors",
    "lost",
    "extra",
    "dup",
    "retried",
  ];
  const widths = [10, 15, 9, 6, 7, 7, 8, 6, 8, 6, 6, 5, 5, 4, 7];
  const lines = [header.map((text, i) => cell(text, widths[i] as number)).join(" | ")];
  lines.push(widths.map((width) => "-".repeat(width)).join("-|-"));
  for (const row of summary.rows) {
    const service = row.kind === "service";
    const values = [
      row.shape,
      row.target,
      String(Math.round(row.clicksPerSecond)),
      row.ratio === undefined ? "" : row.ratio.toFixed(2),
      row.p50Ms.toFixed(2),
      row.p99Ms.toFixed(2),
      row.p999Ms.toFixed(2),
      row.cpuUsPerClick.target.toFixed(1),
      service ? row.cpuUsPerClick.redis.toFixed(1) : "",
      row.cpuUsPerClick.wrk.toFixed(1),
      String(row.errors),
      service ? String(row.lost) : "",
      service ? String(row.extra) : "",
      service ? String(row.duplicates) : "",
      service ? String(row.retriedAfterTimeout) : "",
    ];
    lines.push(values.map((text, i) => cell(text, widths[i] as number)).join(" | "));
  }
  lines.push(
    "cpu µs, redis µs, wrk µs: CPU time per click of the server under test, of redis-server and of wrk",
    "lost: 307s without their event; extra: events without a 307; dup: click_ids stored twice;",
    "retried: pushes the service retried after a failure that may have reached Redis (each can explain one dup)",
  );
  if (httpsNote) lines.push(`https: ${httpsNote}`);
  for (const [name, memory] of Object.entries(summary.memory)) {
    lines.push(
      `${name}: peak RSS ${memory.peakMb.toFixed(1)} MB, RSS now ${memory.currentMb.toFixed(1)} MB (${memory.processes} process${memory.processes === 1 ? "" : "es"})`,
    );
  }
  return lines.join("\n");
}

/** The one line to compare runs by: `ratio=0.63 p99_ms=3.1 rss_mb=88 lost=0`. */
export function finalLine(summary: Summary): string {
  const final = summary.final;
  if (!final) return "ratio=n/a p99_ms=n/a rss_mb=n/a lost=n/a";
  return `ratio=${final.ratio.toFixed(2)} p99_ms=${final.p99Ms.toFixed(1)} rss_mb=${Math.round(final.rssMb)} lost=${final.lost}`;
}

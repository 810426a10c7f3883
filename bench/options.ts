import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

export const SHAPES = ["keep-alive", "close", "https"] as const;
export type Shape = (typeof SHAPES)[number];

export interface BenchOptions {
  micro: boolean;
  /** Seconds of measured clicks per run (the tail adds one). */
  duration: number;
  /** Seconds of warm-up before each measured run; 0 skips it. */
  warmup: number;
  reps: number;
  shapes: Shape[];
  /** Service configurations to measure, by WORKERS. */
  workers: number[];
  threads: number;
  connections: number;
  /** With a number: instead of the comparison, click the service until it has served this many clicks, sampling its memory. */
  soak: number | undefined;
  out: string | undefined;
  /** A git revision whose service is measured beside this one, in the same alternation (before/after). */
  compare: string | undefined;
  /** Write a CPU profile of each service process (bun --cpu-prof) into this folder. */
  profile: string | undefined;
}

export const USAGE = `bun run bench [-- options]
  --micro              micro-benchmarks of UA detection and event composition (mitata) instead
  --duration S         seconds of measured clicks per run (default 10)
  --warmup S           seconds of warm-up before each run, 0 for none (default 2)
  --reps N             alternations of baseline and service (default 3)
  --shapes LIST        keep-alive,close,https (default all three)
  --workers LIST       service WORKERS settings to measure (default 1,2)
  --threads N          wrk threads (default 2)
  --connections N      wrk connections (default 64)
  --soak CLICKS        keep-alive clicks on one service until it served this many; memory sampled per run
  --out FILE           where the JSON goes (default <BENCH_RESULTS_DIR or bench/results>/<time>.json)
  --compare REV        also measure the service of git revision REV (WORKERS=1), for before/after
  --profile DIR        CPU profiles of the service processes (bun --cpu-prof, also as markdown) into DIR`;

function whole(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`--${name} ${JSON.stringify(text)}: must be a positive whole number`);
  }
  return value;
}

export function readOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      micro: { type: "boolean", default: false },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      reps: { type: "string", default: "3" },
      shapes: { type: "string", default: SHAPES.join(",") },
      workers: { type: "string", default: "1,2" },
      threads: { type: "string", default: "2" },
      connections: { type: "string", default: "64" },
      soak: { type: "string" },
      out: { type: "string" },
      profile: { type: "string" },
      compare: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const shapes = values.shapes.split(",").map((shape) => {
    if (!(SHAPES as readonly string[]).includes(shape)) {
      throw new Error(`--shapes: unknown shape ${JSON.stringify(shape)} (${SHAPES.join(", ")})`);
    }
    return shape as Shape;
  });
  return {
    micro: values.micro,
    duration: whole("duration", values.duration),
    warmup: values.warmup === "0" ? 0 : whole("warmup", values.warmup),
    reps: whole("reps", values.reps),
    shapes,
    workers: values.workers.split(",").map((text) => whole("workers", text)),
    threads: whole("threads", values.threads),
    connections: whole("connections", values.connections),
    soak: values.soak === undefined ? undefined : whole("soak", values.soak),
    out: values.out,
    profile: values.profile,
    compare: values.compare,
  };
}

/**
 * Where a benchmark writes its JSON: BENCH_RESULTS_DIR, else bench/results/ (git-ignored). The
 * smoke tests point it at a temporary folder, so that `npm test` leaves nothing behind.
 */
export function resultsFile(name: string): string {
  const dir = process.env.BENCH_RESULTS_DIR || join(import.meta.dir, "results");
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

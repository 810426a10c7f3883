import { join } from "node:path";
import type { BenchRequest } from "./traffic";

/** One wrk run as bench/clicks.lua reports it. */
export interface WrkResult {
  requests: number;
  duration_us: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  /** 307s answered for clicks on the main links (before the tail). */
  main_307: number;
  /** 307s answered for the tail link. */
  tail_307: number;
  /** Answers with any other status. */
  other: number;
  other_statuses: string;
  latency_us: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** CPU time wrk itself used (user + system), in seconds. */
  cpu_s: number;
}

export interface WrkOptions {
  url: string;
  threads: number;
  connections: number;
  /** Seconds of main-link clicks; the run lasts one second more, for the tail. */
  seconds: number;
  close: boolean;
  dataFile: string;
}

const SCRIPT = join(import.meta.dir, "clicks.lua");
const RESULT_PREFIX = "BENCH_RESULT ";

/** JSON strings of printable ASCII are valid Lua strings. */
function luaString(text: string): string {
  return JSON.stringify(text);
}

/** The Lua data file bench/clicks.lua loads: the clicks, then the tail click and where it redirects. */
export function luaData(requests: BenchRequest[], tail: BenchRequest, tailLocation: string): string {
  const clicks = requests.map((request) => `{${luaString(request.path)},${luaString(request.userAgent)}}`);
  return `return {\nclicks = {\n${clicks.join(",\n")}\n},\ntail = {${luaString(tail.path)},${luaString(
    tail.userAgent,
  )},${luaString(tailLocation)}}\n}\n`;
}

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const child = Bun.spawn(
    [
      "wrk",
      "-t",
      String(options.threads),
      "-c",
      String(options.connections),
      "-d",
      `${options.seconds + 1}s`,
      "--timeout",
      "5s",
      "-s",
      SCRIPT,
      options.url,
      "--",
      options.dataFile,
      String(options.seconds),
      options.close ? "close" : "keep-alive",
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  const line = stdout.split("\n").find((text) => text.startsWith(RESULT_PREFIX));
  if (code !== 0 || line === undefined) {
    throw new Error(`wrk failed (exit ${code}):\n${stdout}\n${stderr}`);
  }
  const usage = child.resourceUsage();
  const cpu = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6 : Number.NaN;
  return { ...(JSON.parse(line.slice(RESULT_PREFIX.length)) as Omit<WrkResult, "cpu_s">), cpu_s: cpu };
}

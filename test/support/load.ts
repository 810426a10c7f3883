import { click } from "./service";

/** One click of a load run; `seq` travels in the click's query, so its event can be found again. */
export interface ClickResult {
  seq: number;
  /** The HTTP status, or 0 when the request failed (connection refused or cut). */
  status: number;
  startedAt: number;
  finishedAt: number;
}

export interface LoadOptions {
  base: string;
  linkId: number;
  /** Clicks to send in all. */
  count: number;
  /** Clicks in flight at once. */
  concurrency: number;
  /** Pause of each sender between two clicks, so the load lasts long enough for faults to hit it. */
  pauseMs?: number;
  /** The first click's seq, so that several loads against one service number their clicks apart. */
  firstSeq?: number;
}

export interface Load {
  results: ClickResult[];
  completed(): number;
  /** No new clicks after this; those in flight finish. */
  stop(): void;
  done: Promise<ClickResult[]>;
}

/** The query parameter that numbers a load's clicks; it ends up in the event's reqparams. */
export const SEQ_PARAM = "seq";

/** Sends `count` clicks over `concurrency` keep-alive connections, as an ad network's redirects would. */
export function startLoad(options: LoadOptions): Load {
  const results: ClickResult[] = [];
  const firstSeq = options.firstSeq ?? 0;
  let next = firstSeq;
  let stopped = false;
  const sender = async () => {
    while (!stopped && next < firstSeq + options.count) {
      const seq = next++;
      const startedAt = performance.now();
      let status = 0;
      try {
        const response = await click(
          options.base,
          `/click/${options.linkId}/go?idfa=${crypto.randomUUID()}&${SEQ_PARAM}=${seq}`,
          { headers: { "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)" } },
        );
        status = response.status;
        await response.arrayBuffer();
      } catch {
        status = 0;
      }
      results.push({ seq, status, startedAt, finishedAt: performance.now() });
      if (options.pauseMs) await Bun.sleep(options.pauseMs);
    }
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, sender)).then(() => results);
  return {
    results,
    completed: () => results.length,
    stop: () => {
      stopped = true;
    },
    done,
  };
}

/** The latency below which `fraction` of the clicks were answered, in ms. */
export function percentile(results: ClickResult[], fraction: number): number {
  const times = results.map((result) => result.finishedAt - result.startedAt).sort((a, b) => a - b);
  return times[Math.min(times.length - 1, Math.floor(times.length * fraction))] ?? 0;
}

import type { Subprocess } from "bun";
import { prometheusContentType } from "prom-client";
import type { MetricJson } from "./cells";
import { type Metrics, renderAggregate } from "./metrics";

/**
 * WORKERS=N: one scrape of METRICS_PORT covers every worker. The primary serves the port; on each
 * scrape it asks every worker for its metrics over the IPC channel it started it with, and answers
 * their sum. No worker opens a port of its own for this.
 */

/** A worker answers in well under a millisecond; one that takes this long is stuck. */
const WORKER_ANSWER_MS = 2_000;

interface MetricsRequest {
  metricsRequest: number;
}
interface MetricsReply {
  metricsReply: number;
  metrics: MetricJson[];
}

function isRequest(message: unknown): message is MetricsRequest {
  return typeof (message as Partial<MetricsRequest> | null)?.metricsRequest === "number";
}

function isReply(message: unknown): message is MetricsReply {
  return typeof (message as Partial<MetricsReply> | null)?.metricsReply === "number";
}

/** In a worker: answers the primary's requests for this worker's metrics. Returns stop. */
export function answerMetricsRequests(metrics: Metrics): () => void {
  const answer = async (message: unknown) => {
    if (!isRequest(message)) return;
    const reply: MetricsReply = { metricsReply: message.metricsRequest, metrics: await metrics.json() };
    process.send?.(reply);
  };
  process.on("message", answer);
  return () => process.off("message", answer);
}

/** In the primary: asks the workers and adds their answers up. */
export class WorkerMetrics {
  private lastRequest = 0;
  private readonly waiting = new Map<number, (metrics: MetricJson[]) => void>();

  constructor(private readonly workers: () => readonly Subprocess[]) {}

  /** The IPC handler of every worker. */
  readonly received = (message: unknown): void => {
    if (!isReply(message)) return;
    this.waiting.get(message.metricsReply)?.(message.metrics);
  };

  /** The sum over every worker; 503 when one does not answer (a partial sum would look like a counter reset). */
  async respond(): Promise<Response> {
    const answers = await Promise.all(this.workers().map((worker) => this.ask(worker)));
    const silent = answers.indexOf(undefined);
    if (silent !== -1) {
      return new Response(`worker ${silent + 1} did not answer`, { status: 503 });
    }
    return new Response(await renderAggregate(answers as MetricJson[][]), {
      headers: { "content-type": prometheusContentType },
    });
  }

  private ask(worker: Subprocess): Promise<MetricJson[] | undefined> {
    const id = ++this.lastRequest;
    const { promise, resolve } = Promise.withResolvers<MetricJson[] | undefined>();
    const timer = setTimeout(() => resolve(undefined), WORKER_ANSWER_MS);
    this.waiting.set(id, resolve);
    try {
      worker.send({ metricsRequest: id } satisfies MetricsRequest);
    } catch {
      // The worker has ended; the primary is about to stop the others.
      resolve(undefined);
    }
    return promise.finally(() => {
      clearTimeout(timer);
      this.waiting.delete(id);
    });
  }
}

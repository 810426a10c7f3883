import type { Server, Subprocess } from "bun";
import type { Logger } from "./logger";
import { startMetricsListener } from "./metrics/route";
import { WorkerMetrics } from "./metrics/workers";

/**
 * WORKERS=N: N processes of this program serve the same port (SO_REUSEPORT, the kernel spreads
 * connections over them), so a machine with several vCPUs uses them all. The primary process
 * serves no click itself: it starts the workers, passes SIGINT/SIGTERM on, and ends when they did.
 * With METRICS_PORT it serves the sum of the workers' metrics there.
 */

const WORKER_FLAG = "--worker";

/** The worker number this process was started as, or undefined in the primary (or with WORKERS=1). */
export function workerNumber(argv: readonly string[] = process.argv): number | undefined {
  const at = argv.indexOf(WORKER_FLAG);
  if (at === -1) return undefined;
  const value = Number(argv[at + 1]);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

// A `bun build --compile` binary is its own entry point; otherwise Bun runs the entry script.
function selfCommand(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
  return compiled
    ? [process.execPath, ...process.argv.slice(2)]
    : [process.execPath, Bun.main, ...process.argv.slice(2)];
}

function alive(worker: Subprocess): boolean {
  return worker.exitCode === null && worker.signalCode === null;
}

/**
 * Starts `count` workers and waits for them. A worker that ends on its own stops the others and
 * the primary exits 1: the machine restarts whole rather than running on with fewer workers.
 * Resolves to the exit code for the primary.
 */
export async function runWorkers(
  count: number,
  logger: Logger,
  metricsListener?: { host: string; port: number },
): Promise<number> {
  const workers: Subprocess[] = [];
  const workerMetrics = new WorkerMetrics(() => workers);
  let metricsServer: Server<undefined> | undefined;
  if (metricsListener !== undefined) {
    try {
      // Before the workers: a taken METRICS_PORT stops the start.
      metricsServer = startMetricsListener({ ...metricsListener, respond: () => workerMetrics.respond() });
    } catch (error) {
      logger.fatal({ err: error, port: metricsListener.port }, "METRICS_PORT could not be opened");
      return 1;
    }
  }
  let stopping = false;
  let exitCode = 0;
  const stopAll = (signal: NodeJS.Signals) => {
    for (const worker of workers) if (alive(worker)) worker.kill(signal);
  };

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (!stopping) logger.info({ signal }, "stopping the workers");
      stopping = true;
      stopAll(signal);
    });
  }

  for (let number = 1; number <= count; number++) {
    const worker = Bun.spawn([...selfCommand(), WORKER_FLAG, String(number)], {
      stdio: ["ignore", "inherit", "inherit"],
      env: process.env,
      // The channel the primary asks each worker's metrics over.
      ...(metricsServer === undefined ? {} : { ipc: workerMetrics.received }),
    });
    workers.push(worker);
    void worker.exited.then((code) => {
      if (stopping) return;
      stopping = true;
      exitCode = 1;
      logger.error(
        { worker: number, code, signal: worker.signalCode },
        "a worker ended: stopping the others",
      );
      stopAll("SIGTERM");
    });
  }
  logger.info({ workers: count, pids: workers.map((worker) => worker.pid) }, "workers started");

  await Promise.all(workers.map((worker) => worker.exited));
  await metricsServer?.stop(true);
  return exitCode;
}

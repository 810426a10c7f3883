import { ConfigError, loadConfig, secretValues } from "./config";
import { createLogger } from "./logger";
import { startService } from "./server";
import { runWorkers, workerNumber } from "./workers";

// Process concerns only: configuration, workers, start, signals, exit.
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const worker = workerNumber();
const rootLogger = createLogger(config.logLevel, { secrets: secretValues(config) });

if (config.workers > 1 && worker === undefined) {
  const metricsListener =
    config.metricsPort === undefined ? undefined : { host: config.host, port: config.metricsPort };
  process.exit(await runWorkers(config.workers, rootLogger, metricsListener));
}

const logger = worker === undefined ? rootLogger : rootLogger.child({ worker });
const service = await startService(config, logger, worker).catch((error: unknown) => {
  logger.fatal({ err: error }, "clicks could not start");
  process.exit(1);
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down");
  // The stop is bounded by design; this is the promise to the platform that sends SIGKILL next.
  setTimeout(() => {
    logger.error({ graceMs: config.shutdownGraceMs }, "shutdown took longer than its grace: exiting anyway");
    process.exit(1);
  }, config.shutdownGraceMs).unref();
  await service.stop();
  logger.info("stopped");
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
// A renewed certificate, without a restart (the files are also watched).
process.on("SIGHUP", () => {
  logger.info({ signal: "SIGHUP", tls: service.reloadTls() }, "TLS reload");
});
process.on("SIGTERM", () => void shutdown("SIGTERM"));

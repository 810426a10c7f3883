import { join } from "node:path";
import type { Server } from "bun";
import { type App, createApp, type Services } from "./app";
import { createClickComposer } from "./click/click";
import { createPlatformDetector } from "./click/platform";
import { clickRoutes } from "./click/route";
import { type Clickstore, nodeLabel } from "./clickstore/clickstore";
import { FileClickstore } from "./clickstore/file";
import { RedisClickstore } from "./clickstore/redis-clickstore";
import type { Config } from "./config";
import { type Database, openDatabase } from "./db/database";
import { createClientIp } from "./http/client-ip";
import { IDLE_TIMEOUT_SECONDS, MAX_REQUEST_BODY_BYTES } from "./http/limits";
import { LinkCache } from "./links/cache";
import { createLinkRepository } from "./links/repository";
import type { Logger } from "./logger";
import { Metrics } from "./metrics/metrics";
import { startMetricsListener } from "./metrics/route";

export interface RunningService {
  app: App;
  server: Server<undefined>;
  /** The base URL it listens on, e.g. http://127.0.0.1:2343. */
  url: string;
  metrics: Metrics;
  /** The METRICS_PORT listener's base URL, when there is one. */
  metricsUrl: string | undefined;
  /**
   * Stops accepting connections, lets requests in flight finish (cutting the ones still running near
   * the end of SHUTDOWN_GRACE_MS), flushes pending pushes and spool writes, then closes every connection.
   */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 5_000;
/** Of the shutdown grace, what closing the stores may need after the requests are done. */
const CLOSE_RESERVE = 0.25;

/** A spool belongs to one process: with WORKERS=N, worker i has SPOOL_DIR/worker-<i>. */
export function spoolDirOf(config: Config, worker: number): string {
  return config.workers > 1 ? join(config.spool.dir, `worker-${worker}`) : config.spool.dir;
}

async function openClickstore(
  config: Config,
  logger: Logger,
  metrics: Metrics,
  worker: number,
): Promise<Clickstore> {
  if (config.clickstores.length === 0) {
    return new FileClickstore(join(config.dataDir, "clicks.log"), metrics.clickstoreNode("file"));
  }
  return RedisClickstore.open({
    urls: config.clickstores,
    pushTimeoutMs: config.redisPushTimeoutMs,
    breaker: config.breaker,
    spool: { ...config.spool, dir: spoolDirOf(config, worker) },
    logger,
    metrics,
  });
}

function baseUrl(scheme: string, server: Server<undefined>): string {
  return `${scheme}://${server.hostname === "0.0.0.0" ? "127.0.0.1" : server.hostname}:${server.port}`;
}

/** Resolves true when `promise` settled within `ms`, false otherwise. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What is safe to log of the configuration: no secrets, no passwords. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    port: config.port,
    host: config.host,
    database: config.databaseUrl ? "postgres" : `pglite (${config.dataDir})`,
    clickstores: config.clickstores.map(nodeLabel),
    redisPushTimeoutMs: config.redisPushTimeoutMs,
    breaker: config.breaker,
    spool: config.clickstores.length > 0 ? config.spool : undefined,
    shutdownGraceMs: config.shutdownGraceMs,
    apiSigned: config.apiSecretKey !== undefined,
    allowUnsignedApi: config.allowUnsignedApi,
    notFoundUrl: config.notFoundUrl,
    errorPageUrl: config.errorPageUrl,
    tls: config.tls !== undefined,
    trustProxy: config.trustProxy,
    metricsPort: config.metricsPort,
    metricsOnPublicPorts: config.metricsToken !== undefined,
    logLevel: config.logLevel,
    workers: config.workers,
  };
}

/** Builds every service once, loads the links, and starts listening (as worker `worker` of WORKERS). */
export async function startService(config: Config, logger: Logger, worker = 1): Promise<RunningService> {
  const database: Database = await openDatabase(config);
  const repository = createLinkRepository(database.db);
  const metrics = new Metrics();
  const links = new LinkCache(repository);
  metrics.watchLinkCache(links);
  let clickstore: Clickstore;
  try {
    clickstore = await openClickstore(config, logger, metrics, worker);
  } catch (error) {
    await database.close();
    throw error;
  }
  try {
    const count = await links.load();
    await clickstore.ready(READY_TIMEOUT_MS);
    logger.info({ links: count, clickstore: clickstore.description }, "links loaded");
  } catch (error) {
    await Promise.allSettled([clickstore.close(), database.close()]);
    throw error;
  }
  if (config.apiSecretKey === undefined && !config.allowUnsignedApi) {
    logger.warn("API_SECRET_KEY is not set: the link API answers 404 to everything");
  }

  const services: Services = {
    config,
    logger,
    links,
    repository,
    clickstore,
    composeClick: createClickComposer({
      detectPlatform: createPlatformDetector(),
      notFoundUrl: config.notFoundUrl,
    }),
    clientIp: createClientIp(config.trustProxy),
    metrics,
  };
  const app = createApp(services);

  // First, so that a taken METRICS_PORT stops the start before the public port opens.
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : // Each worker counts its own clicks, so each serves them on a port of its own.
        startMetricsListener({ host: config.host, port: config.metricsPort + worker - 1, metrics });
  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    // Slow and silent clients are cut off; no client can make Bun take in a large body.
    idleTimeout: IDLE_TIMEOUT_SECONDS,
    maxRequestBodySize: MAX_REQUEST_BODY_BYTES,
    // WORKERS=N: every worker binds the same port and the kernel spreads the connections.
    reusePort: config.workers > 1,
    // The click answered by Bun's router directly; everything else through the Hono app.
    routes: clickRoutes(services),
    fetch: (request, bunServer) => app.fetch(request, bunServer),
    ...(config.tls
      ? { tls: { cert: Bun.file(config.tls.certFile), key: Bun.file(config.tls.keyFile) } }
      : {}),
  });
  const url = baseUrl(config.tls ? "https" : "http", server);
  const metricsUrl = metricsServer ? baseUrl("http", metricsServer) : undefined;
  logger.info({ url, metricsUrl, config: describeConfig(config) }, "clicks is listening");

  return {
    app,
    server,
    url,
    metrics,
    metricsUrl,
    async stop() {
      const requestsMs = config.shutdownGraceMs * (1 - CLOSE_RESERVE);
      const metricsStopped = metricsServer?.stop();
      if (!(await settlesWithin(server.stop(), requestsMs))) {
        logger.warn(
          { requests: server.pendingRequests },
          "requests still running at the shutdown grace limit: cutting them",
        );
        await server.stop(true);
      }
      await metricsStopped;
      await Promise.allSettled([clickstore.close(), database.close()]);
    },
  };
}

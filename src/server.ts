import { join } from "node:path";
import type { Server } from "bun";
import { type App, createApp, type Services } from "./app";
import { createClickComposer } from "./click/click";
import { createPlatformDetector } from "./click/platform";
import { createDirectClickHandler } from "./click/route";
import { type Clickstore, nodeLabel } from "./clickstore/clickstore";
import { FileClickstore } from "./clickstore/file";
import { RedisClickstore } from "./clickstore/redis-clickstore";
import type { Config } from "./config";
import { type Database, openDatabase } from "./db/database";
import { createClientIp } from "./http/client-ip";
import { baseUrl, type Listeners, startListeners, type TlsReload } from "./http/listeners";
import { readTlsFiles } from "./http/tls";
import { LinkCache } from "./links/cache";
import { createLinkRepository } from "./links/repository";
import { LinkSync } from "./links/sync";
import type { Logger } from "./logger";
import { Metrics } from "./metrics/metrics";
import { startMetricsListener } from "./metrics/route";

export interface RunningService {
  app: App;
  /** The plain HTTP listener. */
  server: Server<undefined>;
  /** The base URL of the HTTP listener, e.g. http://127.0.0.1:2343. */
  url: string;
  /** The base URL of the HTTPS listener (e.g. https://127.0.0.1:8443) when TLS is configured. */
  httpsUrl: string | undefined;
  /** Serves renewed certificate files to new connections (SIGHUP); see Listeners.reloadTls. */
  reloadTls(): TlsReload;
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
    httpsPort: config.tls ? config.httpsPort : undefined,
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
    proxyProtocol: config.proxyProtocol,
    trustProxy: config.trustProxy,
    zeroedAdid: config.zeroedAdid,
    nonHumanClicks: config.nonHumanClicks,
    metricsPort: config.metricsPort,
    metricsOnPublicPorts: config.metricsToken !== undefined,
    logLevel: config.logLevel,
    linkRefreshSeconds: config.linkRefreshSeconds,
    linkLookupTimeoutMs: config.linkLookupTimeoutMs,
    workers: config.workers,
  };
}

/** Builds every service once, loads the links, and starts listening (as worker `worker` of WORKERS). */
export async function startService(config: Config, logger: Logger, worker = 1): Promise<RunningService> {
  // A certificate that cannot be served stops the start before anything is opened.
  const tlsMaterial = config.tls ? readTlsFiles(config.tls) : undefined;
  const database: Database = await openDatabase(config);
  const repository = createLinkRepository(database.db);
  const metrics = new Metrics();
  const links = new LinkCache(repository, { lookupTimeoutMs: config.linkLookupTimeoutMs });
  metrics.watchLinkCache(links);
  const linkSync = new LinkSync({
    links,
    database,
    refreshIntervalMs: config.linkRefreshSeconds * 1000,
    logger,
  });
  let clickstore: Clickstore;
  try {
    clickstore = await openClickstore(config, logger, metrics, worker);
  } catch (error) {
    await database.close();
    throw error;
  }
  try {
    // Not ready until the links are loaded; if the database is away, listen anyway (/check says why)
    // while the sync keeps retrying.
    await Promise.all([linkSync.start(), clickstore.ready(READY_TIMEOUT_MS)]);
  } catch (error) {
    await linkSync.stop();
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
      zeroedAdid: config.zeroedAdid,
    }),
    clientIp: createClientIp(config.trustProxy),
    metrics,
    readiness: linkSync,
  };
  const app = createApp(services);

  // First, so that a taken METRICS_PORT stops the start before the public ports open.
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : // Each worker counts its own clicks, so each serves them on a port of its own.
        startMetricsListener({ host: config.host, port: config.metricsPort + worker - 1, metrics });
  let listeners: Listeners;
  try {
    listeners = startListeners(
      config,
      { app, click: createDirectClickHandler(services) },
      tlsMaterial,
      logger,
    );
  } catch (error) {
    await Promise.allSettled([metricsServer?.stop(true), linkSync.stop()]);
    await Promise.allSettled([clickstore.close(), database.close()]);
    throw error;
  }
  const url = listeners.httpUrl;
  const httpsUrl = listeners.httpsUrl;
  const metricsUrl = metricsServer ? baseUrl("http", config.host, metricsServer.port as number) : undefined;
  logger.info(
    { url, httpsUrl, metricsUrl, clickstore: clickstore.description, config: describeConfig(config) },
    "clicks is listening",
  );

  return {
    app,
    server: listeners.http,
    url,
    httpsUrl,
    reloadTls: listeners.reloadTls,
    metrics,
    metricsUrl,
    async stop() {
      const requestsMs = config.shutdownGraceMs * (1 - CLOSE_RESERVE);
      const metricsStopped = metricsServer?.stop();
      if (!(await settlesWithin(listeners.stop(), requestsMs))) {
        logger.warn(
          { requests: listeners.pendingRequests() },
          "requests still running at the shutdown grace limit: cutting them",
        );
        await listeners.stop(true);
      }
      await metricsStopped;
      await linkSync.stop();
      await Promise.allSettled([clickstore.close(), database.close()]);
    },
  };
}

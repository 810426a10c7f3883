import { join } from "node:path";
import type { Server } from "bun";
import { createReplayGuard } from "./api/replay-guard";
import { type App, createApp, type Services } from "./app";
import { createClickComposer } from "./click/click";
import { createPlatformDetector } from "./click/platform";
import { createDirectClickHandler } from "./click/route";
import { type Clickstore, nodeLabel } from "./clickstore/clickstore";
import { FileClickstore } from "./clickstore/file";
import { RedisClickstore } from "./clickstore/redis-clickstore";
import type { Config } from "./config";
import { type Database, openDatabase } from "./db/database";
import { CHECKER_LOCK_KEY, DestinationChecker } from "./destinations/checker";
import { createDestinationRepository, DESTINATION_CHANGES } from "./destinations/repository";
import { DestinationStates } from "./destinations/states";
import { checkClicks } from "./http/check";
import { createClientIp } from "./http/client-ip";
import { baseUrl, type Listeners, startListeners, type TlsReload } from "./http/listeners";
import { pollReadiness } from "./http/readiness";
import { readTlsFiles } from "./http/tls";
import { LinkCache } from "./links/cache";
import { createLinkRepository } from "./links/repository";
import { LinkSync } from "./links/sync";
import type { Logger } from "./logger";
import { Metrics } from "./metrics/metrics";
import { metricsResponse, startMetricsListener } from "./metrics/route";
import { answerMetricsRequests } from "./metrics/workers";
import { within } from "./within";

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
/** How often the PROXY front's port follows readiness: well within fly.io's TCP check interval. */
const HTTPS_GATE_INTERVAL_MS = 1_000;
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
    apiSignature: config.apiSignature,
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
    destinationCheckSeconds: config.destinationCheckSeconds,
    deadDestinationFallback: config.deadDestinationFallback,
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
  // Only while destinations are checked: otherwise nothing of them is read, written or measured.
  const destinationRepository = createDestinationRepository(database.db);
  const destinations =
    config.destinationCheckSeconds > 0 ? new DestinationStates(destinationRepository, logger) : undefined;
  if (destinations) metrics.watchDestinations(destinations);
  const linkSync = new LinkSync({
    links,
    database,
    refreshIntervalMs: config.linkRefreshSeconds * 1000,
    logger,
    checkMigrated: () => database.checkMigrated(),
    ...(destinations && {
      follower: { payload: DESTINATION_CHANGES, reload: () => destinations.reload() },
    }),
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
    await Promise.all([linkSync.start(), clickstore.ready(READY_TIMEOUT_MS), destinations?.load()]);
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
    replayGuard: createReplayGuard(database.db),
    clickstore,
    composeClick: createClickComposer({
      detectPlatform: createPlatformDetector(),
      notFoundUrl: config.notFoundUrl,
      playReferrer: config.playReferrer,
      zeroedAdid: config.zeroedAdid,
      ...(destinations && { isDead: destinations.isDead, reroute: config.deadDestinationFallback }),
    }),
    clientIp: createClientIp(config.trustProxy),
    metrics,
    readiness: linkSync,
  };
  const ready = async () => (await checkClicks(services)).notReady === undefined;
  metrics.watchReadiness(ready);
  const app = createApp(services);

  // First, so that a taken METRICS_PORT stops the start before the public ports open. With
  // WORKERS=N the primary serves the port, adding up what each worker answers it.
  const metricsPort = config.workers === 1 ? config.metricsPort : undefined;
  const metricsServer =
    metricsPort === undefined
      ? undefined
      : startMetricsListener({
          host: config.host,
          port: metricsPort,
          respond: () => metricsResponse(metrics),
        });
  const stopAnsweringMetrics =
    config.metricsPort !== undefined && config.workers > 1 ? answerMetricsRequests(metrics) : undefined;
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
  const { gateHttps } = listeners;
  let stopGate: (() => void) | undefined;
  if (gateHttps !== undefined) {
    // The links part is known at once: a start without them never accepts on HTTPS_PORT.
    gateHttps(linkSync.notReadyBecause() === undefined);
    stopGate = pollReadiness(ready, HTTPS_GATE_INTERVAL_MS, gateHttps);
  }
  const checker =
    destinations &&
    new DestinationChecker({
      intervalMs: config.destinationCheckSeconds * 1000,
      links,
      linksLoaded: () => linkSync.notReadyBecause() === undefined,
      repository: destinationRepository,
      states: destinations,
      lock: database.advisoryLock(CHECKER_LOCK_KEY, "clicks destination checks"),
      logger,
      metrics,
    });
  checker?.start();
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
      stopGate?.();
      stopAnsweringMetrics?.();
      const requestsMs = config.shutdownGraceMs * (1 - CLOSE_RESERVE);
      const metricsStopped = metricsServer?.stop();
      if (
        !(await within(
          listeners.stop().then(() => true),
          requestsMs,
          () => false,
        ))
      ) {
        logger.warn(
          { requests: listeners.pendingRequests() },
          "requests still running at the shutdown grace limit: cutting them",
        );
        await listeners.stop(true);
      }
      await metricsStopped;
      await Promise.all([linkSync.stop(), checker?.stop()]);
      await Promise.allSettled([clickstore.close(), database.close()]);
    },
  };
}

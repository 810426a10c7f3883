import { join } from "node:path";
import type { Server } from "bun";
import { type App, createApp } from "./app";
import { createClickComposer } from "./click/click";
import { createPlatformDetector } from "./click/platform";
import { type Clickstore, nodeLabel } from "./clickstore/clickstore";
import { FileClickstore } from "./clickstore/file";
import { ClickstorePool } from "./clickstore/pool";
import type { Config } from "./config";
import { type Database, openDatabase } from "./db/database";
import { createClientIp } from "./http/client-ip";
import { baseUrl, type Listeners, startListeners, type TlsReload } from "./http/listeners";
import { readTlsFiles } from "./http/tls";
import { LinkCache } from "./links/cache";
import { createLinkRepository } from "./links/repository";
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
  /** Stops accepting, lets requests in flight finish, then closes the stores. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 5_000;

function openClickstore(config: Config, logger: Logger, metrics: Metrics): Clickstore {
  if (config.clickstores.length === 0) {
    return new FileClickstore(join(config.dataDir, "clicks.log"), metrics.clickstoreNode("file"));
  }
  return new ClickstorePool({
    urls: config.clickstores,
    pushTimeoutMs: config.redisPushTimeoutMs,
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
    apiSigned: config.apiSecretKey !== undefined,
    allowUnsignedApi: config.allowUnsignedApi,
    notFoundUrl: config.notFoundUrl,
    errorPageUrl: config.errorPageUrl,
    tls: config.tls !== undefined,
    proxyProtocol: config.proxyProtocol,
    trustProxy: config.trustProxy,
    metricsPort: config.metricsPort,
    metricsOnPublicPorts: config.metricsToken !== undefined,
    logLevel: config.logLevel,
  };
}

/** Builds every service once, loads the links, and starts listening. */
export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  // A certificate that cannot be served stops the start before anything is opened.
  const tlsMaterial = config.tls ? readTlsFiles(config.tls) : undefined;
  const database: Database = await openDatabase(config);
  const repository = createLinkRepository(database.db);
  const metrics = new Metrics();
  const links = new LinkCache(repository);
  metrics.watchLinkCache(links);
  const clickstore = openClickstore(config, logger, metrics);
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

  const app = createApp({
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
  });

  // First, so that a taken METRICS_PORT stops the start before the public ports open.
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : startMetricsListener({ host: config.host, port: config.metricsPort, metrics });
  let listeners: Listeners;
  try {
    listeners = startListeners(config, app, tlsMaterial, logger);
  } catch (error) {
    await Promise.allSettled([metricsServer?.stop(true), clickstore.close(), database.close()]);
    throw error;
  }
  const url = listeners.httpUrl;
  const httpsUrl = listeners.httpsUrl;
  const metricsUrl = metricsServer ? baseUrl("http", config.host, metricsServer.port as number) : undefined;
  logger.info({ url, httpsUrl, metricsUrl, config: describeConfig(config) }, "clicks is listening");

  return {
    app,
    server: listeners.http,
    url,
    httpsUrl,
    reloadTls: listeners.reloadTls,
    metrics,
    metricsUrl,
    async stop() {
      await Promise.all([listeners.stop(), metricsServer?.stop()]);
      await Promise.allSettled([clickstore.close(), database.close()]);
    },
  };
}

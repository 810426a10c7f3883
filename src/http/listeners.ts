import { existsSync, readFileSync } from "node:fs";
import type { BunRequest, Server } from "bun";
import type { App } from "../app";
import { CLICK_ROUTE, type ClickHandler } from "../click/route";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { listenerPeers, type PeerLookup } from "./client-ip";
import { IDLE_TIMEOUT_SECONDS, MAX_REQUEST_BODY_BYTES } from "./limits";
import { type ProxyFront, RelayClients, type RelayTarget, startProxyFront } from "./proxy-protocol/front";
import { readTlsFiles, sameMaterial, type TlsFiles, type TlsMaterial, tlsOptions } from "./tls";
import { watchFiles } from "./tls-watch";

export type TlsReload = "renewed" | "unchanged" | "failed" | "no tls";

/** Every listener of the service, all serving the one app. */
export interface Listeners {
  /** The plain HTTP listener on PORT, always on. */
  http: Server<undefined>;
  httpUrl: string;
  /** The HTTPS listener on HTTPS_PORT, when TLS is configured. */
  httpsUrl: string | undefined;
  /**
   * Reads the certificate files again and serves them to new connections when they changed and
   * are valid; otherwise the current certificate stays. Connections already open keep the
   * certificate they began with (directHttps and frontedHttps say how far that holds).
   */
  reloadTls(): TlsReload;
  /**
   * Stops accepting everywhere and waits for the requests in flight; with `force`, cuts every
   * connection at once (after a graceful stop that ran out of time).
   */
  stop(force?: boolean): Promise<void>;
  /** Requests being answered right now, on every listener. */
  pendingRequests(): number;
  /**
   * Behind the PROXY front: follows readiness, closing HTTPS_PORT while the machine is not ready
   * (a TCP health check then fails) and opening it again once it is. Undefined otherwise.
   */
  gateHttps: ((ready: boolean) => void) | undefined;
}

/** An HTTPS listener whose certificate can be replaced while it serves. */
interface HttpsListener {
  readonly port: number;
  readonly pendingRequests: number;
  serve(material: TlsMaterial): void;
  stop(force: boolean): Promise<void>;
  /** See ProxyFront.accepting; only the PROXY front closes its port while not ready. */
  accepting?: (ready: boolean) => boolean;
}

type ListenOptions = { hostname: string; port: number; reusePort?: boolean; tls?: Bun.TLSOptions };

/** What every listener serves: the app, and the click answered by Bun's router directly. */
export interface Handlers {
  app: App;
  click: ClickHandler;
}

/** The routes Bun's router answers itself, without Hono's routing and context: the click's hot path. */
export function directRoutes(click: (request: BunRequest<typeof CLICK_ROUTE>) => Promise<Response>) {
  return { [CLICK_ROUTE]: { GET: click, HEAD: click } };
}

function serveApp(
  handlers: Handlers,
  options: ListenOptions,
  peersOf: (server: Server<undefined>) => PeerLookup,
) {
  const click = (request: BunRequest<typeof CLICK_ROUTE>) =>
    handlers.click(request, peers, request.params.id);
  const server: Server<undefined> = Bun.serve({
    ...options,
    // Slow and silent clients are cut off; no client can make Bun take in a large body.
    idleTimeout: IDLE_TIMEOUT_SECONDS,
    maxRequestBodySize: MAX_REQUEST_BODY_BYTES,
    // Every other request goes to the app.
    routes: directRoutes(click),
    fetch: (request) => handlers.app.fetch(request, peers),
  });
  // Assigned before the first request can arrive: Bun.serve returns before it serves anything.
  const peers = peersOf(server);
  return server;
}

/**
 * Stops a replaced server gracefully (requests in flight are answered) once `ready` resolves, or
 * at once when the service stops; keeps track of them.
 */
function retirer() {
  const retiring = new Map<Server<undefined>, Promise<void>>();
  const shutdown = Promise.withResolvers<void>();
  return {
    retire(server: Server<undefined>, ready: Promise<void> = Promise.resolve()): void {
      const done = Promise.race([ready, shutdown.promise])
        .then(() => server.stop())
        .finally(() => retiring.delete(server));
      retiring.set(server, done);
    },
    /** The service is stopping: every retiring server stops now (cut, with `force`); resolves when they have. */
    stopAll(force: boolean): Promise<unknown> {
      shutdown.resolve();
      const servers = [...retiring];
      return Promise.all(servers.map(([server, done]) => (force ? server.stop(true) : done)));
    },
  };
}

const MIGRATE_QUEUED_CONNECTIONS = "/proc/sys/net/ipv4/tcp_migrate_req";

/**
 * Linux drops the connections still waiting in a SO_REUSEPORT listener's accept queue when it
 * closes, unless net.ipv4.tcp_migrate_req hands them to another listener on the port.
 */
function warnIfRenewalDropsQueuedConnections(logger: Logger): void {
  if (!existsSync(MIGRATE_QUEUED_CONNECTIONS)) return;
  if (readFileSync(MIGRATE_QUEUED_CONNECTIONS, "utf8").trim() !== "0") return;
  logger.warn(
    { sysctl: "net.ipv4.tcp_migrate_req=0" },
    "a certificate renewal may reset the connections waiting to be accepted at that instant: set net.ipv4.tcp_migrate_req=1 (the PROXY front does not need it)",
  );
}

/**
 * TLS straight on HTTPS_PORT. A renewal opens a second server on the same port (SO_REUSEPORT)
 * with the new certificate, then stops the old one gracefully: `server.reload({ tls })` keeps
 * serving the old certificate in Bun 1.4.5.
 */
function directHttps(
  config: Config,
  handlers: Handlers,
  material: TlsMaterial,
  logger: Logger,
): HttpsListener {
  warnIfRenewalDropsQueuedConnections(logger);
  const open = (next: TlsMaterial, port: number) =>
    serveApp(handlers, { hostname: config.host, port, reusePort: true, tls: tlsOptions(next) }, (server) =>
      listenerPeers(server, "https"),
    );
  const retired = retirer();
  let current = open(material, config.httpsPort);
  return {
    get port() {
      return current.port as number;
    },
    get pendingRequests() {
      return current.pendingRequests;
    },
    serve(next) {
      const previous = current;
      current = open(next, previous.port as number);
      retired.retire(previous);
    },
    async stop(force) {
      await Promise.all([current.stop(force), retired.stopAll(force)]);
    },
  };
}

/**
 * TLS behind the PROXY front: the front owns HTTPS_PORT, the TLS server listens on loopback. A
 * renewal opens a new loopback server and points the front at it; the old one stops once the
 * last connection relayed to it has ended, so that none is cut (see RelayClients.drained).
 */
function frontedHttps(
  config: Config,
  handlers: Handlers,
  material: TlsMaterial,
  version: "v1" | "v2",
  logger: Logger,
): HttpsListener {
  const open = (next: TlsMaterial) => {
    const clients = new RelayClients();
    const server = serveApp(handlers, { hostname: "127.0.0.1", port: 0, tls: tlsOptions(next) }, (loopback) =>
      clients.peers(loopback),
    );
    return { server, target: { port: server.port as number, clients } satisfies RelayTarget };
  };
  const retired = retirer();
  let current = open(material);
  let front: ProxyFront;
  try {
    front = startProxyFront({
      hostname: config.host,
      port: config.httpsPort,
      version,
      target: current.target,
      logger,
      reusePort: config.workers > 1,
    });
  } catch (error) {
    void current.server.stop(true);
    throw error;
  }
  return {
    port: front.port,
    get pendingRequests() {
      return current.server.pendingRequests;
    },
    serve(next) {
      const previous = current;
      current = open(next);
      front.relayTo(current.target);
      retired.retire(previous.server, previous.target.clients.drained());
    },
    accepting: (ready) => front.accepting(ready),
    async stop(force) {
      front.stopAccepting();
      if (force) front.closeAll();
      await Promise.all([current.server.stop(force), retired.stopAll(force)]);
      front.closeAll();
    },
  };
}

/** The URL a listener on `host` is reached at from this machine (0.0.0.0 from 127.0.0.1). */
export function baseUrl(scheme: string, host: string, port: number): string {
  const shown = host === "0.0.0.0" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `${scheme}://${shown}:${port}`;
}

function describe(material: TlsMaterial) {
  return { subject: material.subject, validTo: material.validTo, fingerprint: material.fingerprint };
}

/**
 * Opens plain HTTP on PORT and, with a certificate, HTTPS on HTTPS_PORT (through the PROXY front
 * when PROXY_PROTOCOL is set). The certificate is renewed on `reloadTls()` (SIGHUP) and whenever
 * the files change.
 */
export function startListeners(
  config: Config,
  handlers: Handlers,
  material: TlsMaterial | undefined,
  logger: Logger,
): Listeners {
  // WORKERS=N: every worker binds the same ports and the kernel spreads the connections.
  const http = serveApp(
    handlers,
    { hostname: config.host, port: config.port, reusePort: config.workers > 1 },
    (server) => listenerPeers(server, "http"),
  );
  const httpUrl = baseUrl("http", config.host, http.port as number);
  if (config.tls === undefined || material === undefined) {
    return {
      http,
      httpUrl,
      httpsUrl: undefined,
      reloadTls: () => "no tls",
      stop: (force = false) => http.stop(force),
      pendingRequests: () => http.pendingRequests,
      gateHttps: undefined,
    };
  }

  const files: TlsFiles = config.tls;
  let https: HttpsListener;
  try {
    https =
      config.proxyProtocol === "off"
        ? directHttps(config, handlers, material, logger)
        : frontedHttps(config, handlers, material, config.proxyProtocol, logger);
  } catch (error) {
    // HTTPS_PORT taken: nothing of this start stays open.
    void http.stop(true);
    throw error;
  }
  let served = material;
  logger.info({ certificate: describe(served) }, "serving TLS");
  if (Date.parse(served.validTo) < Date.now())
    logger.warn({ certificate: describe(served) }, "TLS certificate expired");

  const reloadTls = (): TlsReload => {
    let next: TlsMaterial;
    try {
      next = readTlsFiles(files);
    } catch (error) {
      logger.error(
        { reason: (error as Error).message },
        "TLS files not renewed: keeping the current certificate",
      );
      return "failed";
    }
    if (sameMaterial(next, served)) return "unchanged";
    try {
      https.serve(next);
    } catch (error) {
      logger.error({ err: error }, "renewed certificate could not be served: keeping the current one");
      return "failed";
    }
    served = next;
    logger.info({ certificate: describe(served) }, "TLS certificate renewed");
    return "renewed";
  };
  const stopWatching = watchFiles([files.certFile, files.keyFile], () => void reloadTls(), logger);
  const { accepting } = https;
  const gateHttps = accepting === undefined ? undefined : gate(accepting, https.port, logger);

  return {
    http,
    httpUrl,
    httpsUrl: baseUrl("https", config.host, https.port),
    reloadTls,
    async stop(force = false) {
      stopWatching();
      await Promise.all([http.stop(force), https.stop(force)]);
    },
    pendingRequests: () => http.pendingRequests + https.pendingRequests,
    gateHttps,
  };
}

/** Opens and closes the port with readiness; logs each change once, and a failure to reopen once. */
function gate(accepting: (ready: boolean) => boolean, port: number, logger: Logger) {
  let open = true;
  let reopenFailed = false;
  return (ready: boolean) => {
    if (!accepting(ready)) {
      if (!reopenFailed) logger.error({ port }, "HTTPS_PORT could not be opened again: retrying");
      reopenFailed = true;
      return;
    }
    reopenFailed = false;
    if (ready === open) return;
    open = ready;
    if (ready) logger.info({ port }, "ready: HTTPS_PORT accepts connections again");
    else logger.warn({ port }, "not ready: HTTPS_PORT refuses connections until it is");
  };
}

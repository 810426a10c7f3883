import { Hono } from "hono";
import { registerApiRoutes } from "./api/route";
import type { ComposeClick } from "./click/click";
import { registerClickRoute } from "./click/route";
import type { Clickstore } from "./clickstore/clickstore";
import type { Config } from "./config";
import { registerCheckRoute } from "./http/check";
import type { ClientIp, PeerLookup } from "./http/client-ip";
import type { Readiness } from "./http/readiness";
import { requestIdOf } from "./http/request-id";
import { registerStaticRoutes } from "./http/static";
import type { LinkCache } from "./links/cache";
import type { LinkRepository } from "./links/repository";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics/metrics";
import { registerMetricsRoute } from "./metrics/route";

/** Everything the routes use, built once at start and handed in. */
export interface Services {
  config: Config;
  logger: Logger;
  links: LinkCache;
  repository: LinkRepository;
  clickstore: Clickstore;
  composeClick: ComposeClick;
  clientIp: ClientIp;
  metrics: Metrics;
  readiness: Readiness;
}

/** The listener is the request's environment: it knows the peer address. */
export type AppEnv = { Bindings: PeerLookup };
export type App = Hono<AppEnv>;

export function createApp(services: Services): App {
  const { config, logger } = services;
  const app: App = new Hono<AppEnv>();

  registerClickRoute(app, services);
  registerApiRoutes(app, services);
  registerCheckRoute(app, services);
  registerStaticRoutes(app);
  registerMetricsRoute(app, services);

  app.notFound((c) => c.text("Not Found", 404));
  app.onError((error, c) => {
    const requestId = requestIdOf(c.req.raw);
    logger.error({ requestId, err: error, method: c.req.method, path: c.req.path }, "request failed");
    c.header("x-request-id", requestId);
    // Never a stack trace to a client; people go to the error page, machines get a status.
    if (config.errorPageUrl && c.req.method === "GET") return c.redirect(config.errorPageUrl, 307);
    return c.json({ status: "error", error: "internal error", errorId: requestId }, 500);
  });
  return app;
}

import { Hono } from "hono";
import { registerApiRoutes } from "./api/route";
import type { ComposeClick } from "./click/click";
import { registerClickRoute } from "./click/route";
import type { Clickstore } from "./clickstore/clickstore";
import type { Config } from "./config";
import { registerCheckRoute } from "./http/check";
import type { ClientIp, PeerLookup } from "./http/client-ip";
import type { Readiness } from "./http/readiness";
import { registerStaticRoutes } from "./http/static";
import type { LinkCache } from "./links/cache";
import type { LinkRepository } from "./links/repository";
import type { Logger } from "./logger";

/** Everything the routes use, built once at start and handed in. */
export interface Services {
  config: Config;
  logger: Logger;
  links: LinkCache;
  repository: LinkRepository;
  clickstore: Clickstore;
  composeClick: ComposeClick;
  clientIp: ClientIp;
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

  app.notFound((c) => c.text("Not Found", 404));
  app.onError((error, c) => {
    const errorId = crypto.randomUUID();
    logger.error({ errorId, err: error, path: c.req.path }, "request failed");
    // Never a stack trace to a client; people go to the error page, machines get a status.
    if (config.errorPageUrl && c.req.method === "GET") return c.redirect(config.errorPageUrl, 307);
    return c.json({ status: "error", error: "internal error", errorId }, 500);
  });
  return app;
}

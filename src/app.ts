import { Hono } from "hono";
import type { ReplayGuard } from "./api/replay-guard";
import { registerApiRoutes } from "./api/route";
import type { ComposeClick } from "./click/click";
import { registerClickRoute } from "./click/route";
import type { Clickstore } from "./clickstore/clickstore";
import type { Config } from "./config";
import { registerCheckRoute } from "./http/check";
import type { ClientIp, PeerLookup } from "./http/client-ip";
import type { Readiness } from "./http/readiness";
import { createErrorResponder } from "./http/responses";
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
  /** Where accepted v2 link API signatures are remembered. */
  replayGuard: ReplayGuard;
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
  const app: App = new Hono<AppEnv>();

  registerClickRoute(app, services);
  registerApiRoutes(app, services);
  registerCheckRoute(app, services);
  registerStaticRoutes(app);
  registerMetricsRoute(app, services);

  app.notFound((c) => c.text("Not Found", 404));
  const respondToError = createErrorResponder(services);
  app.onError((error, c) => respondToError(error, c.req.raw));
  return app;
}

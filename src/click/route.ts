import type { BunRequest, Server } from "bun";
import type { App, Services } from "../app";
import type { PeerLookup } from "../http/client-ip";
import { createErrorResponder, emptyResponse, temporaryRedirect } from "../http/responses";

const MAX_LINK_ID = 2147483647;
const DIGITS = /^\d{1,10}$/;

export const CLICK_ROUTE = "/click/:id/go";

/** `:id` is all digits and fits the table's integer id; anything else is an unknown link. */
export function linkIdFrom(raw: string): number | undefined {
  if (!DIGITS.test(raw)) return undefined;
  const id = Number(raw);
  return id <= MAX_LINK_ID ? id : undefined;
}

function rawQueryOf(url: string): string {
  const question = url.indexOf("?");
  return question === -1 ? "" : url.slice(question + 1);
}

/** The click as a plain request → response function: the listener answers it directly, Hono too. */
export type ClickHandler = (request: Request, peers: PeerLookup, rawId: string) => Promise<Response>;

/** GET /click/:id/go: resolve the link, compose the event, store it, then redirect. */
export function createClickHandler(services: Services): ClickHandler {
  const { links, clickstore, composeClick, clientIp, logger, config } = services;

  const unknownLink = () =>
    config.errorPageUrl ? temporaryRedirect(config.errorPageUrl) : emptyResponse(404);

  return async (request, peers, rawId) => {
    const id = linkIdFrom(rawId);
    if (id === undefined) return unknownLink();
    const cached = links.lookup(id);
    const link = cached instanceof Promise ? await cached : cached;
    if (!link) return unknownLink();

    const click = composeClick(link, {
      rawQuery: rawQueryOf(request.url),
      ip: clientIp(request, peers),
      userAgent: request.headers.get("user-agent") ?? "",
      nowMs: Date.now(),
    });
    if (click.invalidIdfa) logger.info({ linkId: id, network: link.network }, "invalid_idfa");

    try {
      await clickstore.push(click.event);
    } catch (error) {
      logger.error({ err: error, linkId: id }, "click event not stored");
    }
    return click.redirectUrl === undefined ? emptyResponse(404) : temporaryRedirect(click.redirectUrl);
  };
}

export function registerClickRoute(app: App, services: Services): void {
  const handle = createClickHandler(services);
  app.get(CLICK_ROUTE, (c) => handle(c.req.raw, c.env, c.req.param("id")));
}

type ClickRouteHandler = (
  request: BunRequest<typeof CLICK_ROUTE>,
  server: Server<undefined>,
) => Promise<Response>;

/**
 * The click route for Bun.serve's own router: the hot path skips Hono's routing and context
 * (measured: bench/README). Same handler, same answers, same error page as through the app.
 */
export function clickRoutes(
  services: Services,
): Record<typeof CLICK_ROUTE, { GET: ClickRouteHandler; HEAD: ClickRouteHandler }> {
  const handle = createClickHandler(services);
  const respondToError = createErrorResponder(services);
  const route: ClickRouteHandler = async (request, server) => {
    try {
      return await handle(request, server, request.params.id);
    } catch (error) {
      return respondToError(error, request);
    }
  };
  return { [CLICK_ROUTE]: { GET: route, HEAD: route } };
}

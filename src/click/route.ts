import type { App, Services } from "../app";
import type { PeerLookup } from "../http/client-ip";
import { MAX_CLICK_QUERY_BYTES } from "../http/limits";
import { requestIdOf } from "../http/request-id";
import {
  createErrorResponder,
  emptyResponse,
  temporaryRedirect,
  unavailable,
  withoutBody,
} from "../http/responses";
import { type ClickOutcome, UNEXAMINED_PLATFORM } from "../metrics/metrics";
import { nonHumanReason } from "./non-human";

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

/** The click as a plain request → response function: Bun's router answers it directly, Hono too. */
export type ClickHandler = (request: Request, peers: PeerLookup, rawId: string) => Promise<Response>;

/** GET /click/:id/go: resolve the link, compose the event, store it, then redirect. */
export function createClickHandler(services: Services): ClickHandler {
  const { links, clickstore, composeClick, clientIp, logger, config, metrics, readiness } = services;
  // Read once: the level is fixed at start, and a click must not build a line nobody reads.
  const logEachClick = logger.isLevelEnabled("debug");
  const storeNonHuman = config.nonHumanClicks === "store";

  const unknownLink = (rawId: string, startedMs: number) => {
    metrics.countClick(UNEXAMINED_PLATFORM, "unknown_link", startedMs);
    if (logEachClick) logger.debug({ linkId: rawId, outcome: "unknown_link" }, "click");
    return config.errorPageUrl ? temporaryRedirect(config.errorPageUrl) : emptyResponse(404);
  };

  return async (request, peers, rawId) => {
    const startedMs = performance.now();
    const rawQuery = rawQueryOf(request.url);
    // Bun hands over the target percent-encoded, so its length in characters is its length in bytes.
    if (rawQuery.length > MAX_CLICK_QUERY_BYTES) return emptyResponse(414);
    // Before the links are loaded no link is known, not even one that exists: say so (a failed
    // request, counted as an error) rather than answer "unknown link".
    const notReady = readiness.notReadyBecause();
    if (notReady !== undefined) {
      metrics.countClick(UNEXAMINED_PLATFORM, "error", startedMs);
      metrics.countFailedRequest("not_ready");
      return unavailable(notReady);
    }
    let platform = UNEXAMINED_PLATFORM;
    try {
      const id = linkIdFrom(rawId);
      if (id === undefined) return unknownLink(rawId, startedMs);
      const cached = links.lookup(id);
      const link = cached instanceof Promise ? await cached : cached;
      if (!link) return unknownLink(rawId, startedMs);

      const click = composeClick(link, {
        rawQuery,
        ip: clientIp(request, peers),
        userAgent: request.headers.get("user-agent") ?? "",
        nowMs: Date.now(),
      });
      platform = click.platform;
      if (click.invalidIdfa) {
        metrics.countInvalidIdfa();
        if (logEachClick) logger.debug({ linkId: id, network: link.network }, "invalid_idfa");
      }
      if (click.deadTarget) metrics.countDeadTarget(click.rerouted);
      if (click.zeroedAdid) metrics.countZeroedAdid(platform);
      const nonHuman = nonHumanReason(request.method, click.crawler);
      if (nonHuman !== undefined) metrics.countNonHuman(nonHuman);

      let outcome: ClickOutcome = click.hasTarget ? "redirected" : "not_found";
      // Stored or spooled: kept. Dropped (spool full): the store counted and logged the loss itself.
      // The person is redirected in every case; with NON_HUMAN_CLICKS=skip, no person, no event.
      if (nonHuman === undefined || storeNonHuman) {
        try {
          if ((await clickstore.push(click.event)) === "dropped") outcome = "error";
        } catch (error) {
          outcome = "error";
          logger.error(
            { err: error, linkId: id, requestId: requestIdOf(request), event: click.event },
            "click event not stored",
          );
        }
      }
      const response =
        click.redirectUrl === undefined ? emptyResponse(404) : temporaryRedirect(click.redirectUrl);
      metrics.countClick(platform, outcome, startedMs);
      if (logEachClick) logger.debug({ linkId: id, platform, outcome, nonHuman }, "click");
      return response;
    } catch (error) {
      // Answered by the error responder (logged there with a request id); counted here with what is known.
      metrics.countClick(platform, "error", startedMs);
      throw error;
    }
  };
}

export function registerClickRoute(app: App, services: Services): void {
  const handle = createClickHandler(services);
  app.get(CLICK_ROUTE, (c) => handle(c.req.raw, c.env, c.req.param("id")));
}

/**
 * The click for Bun.serve's own router (see http/listeners.ts): the hot path skips Hono's routing
 * and context (measured: docs/performance.md). Same handler, and a failure is answered as
 * the app's onError answers it; a HEAD is answered without a body, as Hono answers it.
 */
export function createDirectClickHandler(services: Services): ClickHandler {
  const handle = createClickHandler(services);
  const respondToError = createErrorResponder(services);
  return async (request, peers, rawId) => {
    let response: Response;
    try {
      response = await handle(request, peers, rawId);
    } catch (error) {
      response = respondToError(error, request);
    }
    return request.method === "HEAD" ? withoutBody(response) : response;
  };
}

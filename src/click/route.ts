import type { Context } from "hono";
import type { App, AppEnv, Services } from "../app";
import { MAX_CLICK_QUERY_BYTES } from "../http/limits";
import { requestIdOf } from "../http/request-id";
import { type ClickOutcome, UNEXAMINED_PLATFORM } from "../metrics/metrics";

const MAX_LINK_ID = 2147483647;
const DIGITS = /^\d{1,10}$/;

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

/** GET /click/:id/go: resolve the link, compose the event, store it, then redirect. */
export function registerClickRoute(app: App, services: Services): void {
  const { links, clickstore, composeClick, clientIp, logger, config, metrics, readiness } = services;
  // Read once: the level is fixed at start, and a click must not build a line nobody reads.
  const logEachClick = logger.isLevelEnabled("debug");

  const unknownLink = (c: Context<AppEnv>, rawId: string) => {
    metrics.countClick(UNEXAMINED_PLATFORM, "unknown_link");
    if (logEachClick) logger.debug({ linkId: rawId, outcome: "unknown_link" }, "click");
    return config.errorPageUrl ? c.redirect(config.errorPageUrl, 307) : c.body(null, 404);
  };

  app.get("/click/:id/go", async (c) => {
    const request = c.req.raw;
    const rawQuery = rawQueryOf(request.url);
    // Bun hands over the target percent-encoded, so its length in characters is its length in bytes.
    if (rawQuery.length > MAX_CLICK_QUERY_BYTES) return c.body(null, 414);
    // Before the links are loaded no link is known, not even one that exists: say so (a failed
    // request, counted as an error) rather than answer "unknown link".
    const notReady = readiness.notReadyBecause();
    if (notReady !== undefined) {
      metrics.countClick(UNEXAMINED_PLATFORM, "error");
      return c.text(`Service Unavailable: ${notReady}`, 503, { "Retry-After": "1" });
    }
    let platform = UNEXAMINED_PLATFORM;
    try {
      const rawId = c.req.param("id");
      const id = linkIdFrom(rawId);
      if (id === undefined) return unknownLink(c, rawId);
      const cached = links.lookup(id);
      const link = cached instanceof Promise ? await cached : cached;
      if (!link) return unknownLink(c, rawId);

      const click = composeClick(link, {
        rawQuery,
        ip: clientIp(request, c.env),
        userAgent: request.headers.get("user-agent") ?? "",
        nowMs: Date.now(),
      });
      platform = click.platform;
      if (click.invalidIdfa) {
        metrics.countInvalidIdfa();
        if (logEachClick) logger.debug({ linkId: id, network: link.network }, "invalid_idfa");
      }

      let outcome: ClickOutcome = click.hasTarget ? "redirected" : "not_found";
      // Stored or spooled: kept. Dropped (spool full): the store counted and logged the loss itself.
      // The person is redirected in every case.
      try {
        if ((await clickstore.push(click.event)) === "dropped") outcome = "error";
      } catch (error) {
        outcome = "error";
        logger.error(
          { err: error, linkId: id, requestId: requestIdOf(request), event: click.event },
          "click event not stored",
        );
      }
      const response =
        click.redirectUrl === undefined ? c.body(null, 404) : c.redirect(click.redirectUrl, 307);
      metrics.countClick(platform, outcome);
      if (logEachClick) logger.debug({ linkId: id, platform, outcome }, "click");
      return response;
    } catch (error) {
      // Answered by app.onError (logged there with a request id); counted here with what is known.
      metrics.countClick(platform, "error");
      throw error;
    }
  });
}

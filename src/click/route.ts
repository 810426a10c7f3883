import type { Context } from "hono";
import type { App, AppEnv, Services } from "../app";

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
  const { links, clickstore, composeClick, clientIp, logger, config, readiness } = services;

  const unknownLink = (c: Context<AppEnv>) =>
    config.errorPageUrl ? c.redirect(config.errorPageUrl, 307) : c.body(null, 404);

  app.get("/click/:id/go", async (c) => {
    // Before the links are loaded no link is known, not even one that exists: say so honestly and
    // briefly rather than answer "unknown link".
    const notReady = readiness.notReadyBecause();
    if (notReady !== undefined)
      return c.text(`Service Unavailable: ${notReady}`, 503, { "Retry-After": "1" });
    const id = linkIdFrom(c.req.param("id"));
    if (id === undefined) return unknownLink(c);
    const cached = links.lookup(id);
    const link = cached instanceof Promise ? await cached : cached;
    if (!link) return unknownLink(c);

    const request = c.req.raw;
    const click = composeClick(link, {
      rawQuery: rawQueryOf(request.url),
      ip: clientIp(request, c.env),
      userAgent: request.headers.get("user-agent") ?? "",
      nowMs: Date.now(),
    });
    if (click.invalidIdfa) logger.info({ linkId: id, network: link.network }, "invalid_idfa");

    try {
      await clickstore.push(click.event);
    } catch (error) {
      logger.error({ err: error, linkId: id }, "click event not stored");
    }
    return click.redirectUrl === undefined ? c.body(null, 404) : c.redirect(click.redirectUrl, 307);
  });
}

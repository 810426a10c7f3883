import type { Config } from "../config";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics/metrics";
import { requestIdOf } from "./request-id";

// What Hono's c.redirect does with a Location beyond Latin-1, so both paths answer alike.
const BEYOND_LATIN1 = /[\u0100-\uffff]/;

/** A 307 to `url`, its Location header written as Hono's `c.redirect` writes it. */
export function temporaryRedirect(url: string): Response {
  return new Response(null, {
    status: 307,
    headers: { location: BEYOND_LATIN1.test(url) ? encodeURI(url) : url },
  });
}

export function emptyResponse(status: number): Response {
  return new Response(null, { status });
}

/** The answer to a HEAD request: the same status and headers, never a body (as Hono answers HEAD). */
export function withoutBody(response: Response): Response {
  return response.body === null ? response : new Response(null, response);
}

/** 503 with the reason, as Hono's `c.text(…, 503, { "Retry-After": "1" })` writes it. */
export function unavailable(reason: string): Response {
  return new Response(`Service Unavailable: ${reason}`, {
    status: 503,
    headers: { "content-type": "text/plain; charset=UTF-8", "retry-after": "1" },
  });
}

export type ErrorResponder = (error: unknown, request: Request) => Response;

/** The request's path as Hono's `c.req.path` gives it, for the log. */
function pathOf(request: Request): string {
  return new URL(request.url).pathname;
}

/**
 * The answer to a request that failed: logged with a request id that the answer carries too
 * (x-request-id), never a stack trace to the client; people (GET) go to ERROR_PAGE_URL when set,
 * machines get a 500 with the id.
 */
export function createErrorResponder({
  config,
  logger,
  metrics,
}: {
  config: Config;
  logger: Logger;
  metrics: Metrics;
}): ErrorResponder {
  return (error, request) => {
    metrics.countFailedRequest("error");
    const requestId = requestIdOf(request);
    logger.error({ requestId, err: error, method: request.method, path: pathOf(request) }, "request failed");
    if (config.errorPageUrl && request.method === "GET") {
      const response = temporaryRedirect(config.errorPageUrl);
      response.headers.set("x-request-id", requestId);
      return response;
    }
    return new Response(JSON.stringify({ status: "error", error: "internal error", errorId: requestId }), {
      status: 500,
      headers: { "content-type": "application/json", "x-request-id": requestId },
    });
  };
}

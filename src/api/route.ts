import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { App, AppEnv, Services } from "../app";
import { MAX_BODY_BYTES } from "../http/limits";
import { parseLinkId, parseLinkJson } from "../links/validation";
import type { ApiAction, ApiResult } from "../metrics/metrics";
import { type ApiCredentials, authenticate, type RejectionDetails, replayed } from "./authenticate";

type Form = Record<string, string | File | (string | File)[]>;

function field(form: Form, name: string): string | undefined {
  const value = form[name];
  return typeof value === "string" ? value : undefined;
}

/** What the signature schemes look at, as the request sent it. */
function credentials(c: Context<AppEnv>, body: Uint8Array, form: Form): ApiCredentials {
  return {
    method: c.req.method,
    path: new URL(c.req.url).pathname,
    body,
    timestamp: c.req.header("x-api-timestamp"),
    signature: c.req.header("x-api-signature"),
    salt: c.req.header("x-api-salt"),
    pepper: field(form, "pepper"),
    payload: field(form, "campaign_link"),
  };
}

function badRequest(c: Context<AppEnv>, fieldName: string, message: string) {
  return c.json({ status: "error", field: fieldName, error: `${fieldName} ${message}` }, 400);
}

/**
 * The link API the analytics tool calls, wire-compatible with the original:
 * POST /api/:version/create and /api/:version/delete, form-encoded, signed the original way or v2.
 */
export function registerApiRoutes(app: App, services: Services): void {
  const { config, repository, replayGuard, links, logger, metrics } = services;
  const secret = config.apiSecretKey;
  const enabled = secret !== undefined || config.allowUnsignedApi;

  const actionOf = (c: Context<AppEnv>): ApiAction =>
    c.req.param("action") === "create" ? "create" : "delete";
  const answer = <R extends Response | Promise<Response>>(
    action: ApiAction,
    result: ApiResult,
    response: R,
  ): R => {
    metrics.countApiRequest(action, result);
    return response;
  };

  const tooLarge = (c: Context<AppEnv>) =>
    answer(
      actionOf(c),
      "too_large",
      c.json({ status: "error", error: `body larger than ${MAX_BODY_BYTES / 1024} KiB` }, 413),
    );
  const countBody = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });
  /**
   * A declared Content-Length is judged before anything is read; a streamed (chunked) body is
   * counted as it arrives and dropped at the limit. When the stream itself fails, Bun's own
   * `maxRequestBodySize` cut it off (or the client went away): the same 413, not an internal error.
   */
  const limitBody: MiddlewareHandler<AppEnv> = async (c, next) => {
    try {
      return await countBody(c, next);
    } catch {
      return tooLarge(c);
    }
  };

  /** An unsigned or wrongly signed request learns nothing: it looks like an unknown route. The log says why. */
  const reject = (c: Context<AppEnv>, action: ApiAction, details: RejectionDetails) => {
    logger.warn({ action, ...details }, "link API request rejected");
    metrics.countApiRejection(action, details.reason);
    return c.notFound();
  };

  app.post("/api/:version/:action{create|delete}", limitBody, async (c) => {
    const action = actionOf(c);
    if (!enabled) return answer(action, "disabled", c.notFound());
    try {
      // A v2 signature covers the body's exact bytes; the form is parsed from the same bytes.
      let body: Uint8Array;
      let form: Form;
      try {
        body = new Uint8Array(await c.req.arrayBuffer());
        form = await c.req.parseBody({ all: false });
      } catch {
        body = new Uint8Array();
        form = {};
      }
      const payload = field(form, "campaign_link");
      const now = Date.now();
      const verdict =
        secret === undefined
          ? undefined
          : authenticate(credentials(c, body, form), secret, config.apiSignature, now);
      if (verdict !== undefined && !verdict.ok) return reject(c, action, verdict.rejection);
      // A v2 signature is claimed once the request is valid, right before its change: a request
      // refused with 400 changed nothing, so the same signed request may be sent again.
      const replay = async (): Promise<RejectionDetails | undefined> => {
        if (verdict?.ok !== true || verdict.scheme !== "v2") return undefined;
        const first = await replayGuard.claim(verdict.signature, verdict.expiresAtMs, now);
        return first ? undefined : replayed(verdict.signature);
      };
      if (payload === undefined) {
        return answer(action, "invalid", badRequest(c, "campaign_link", "is required"));
      }

      let id: number;
      if (action === "create") {
        const parsed = parseLinkJson(payload);
        if (!parsed.ok) return answer(action, "invalid", badRequest(c, parsed.field, parsed.message));
        const replayedRequest = await replay();
        if (replayedRequest) return reject(c, action, replayedRequest);
        id = (await repository.upsert(parsed.link)).id;
        logger.info({ linkId: id, action }, "campaign link saved");
      } else {
        const parsed = parseLinkId(payload);
        if (!parsed.ok) return answer(action, "invalid", badRequest(c, parsed.field, parsed.message));
        const replayedRequest = await replay();
        if (replayedRequest) return reject(c, action, replayedRequest);
        id = parsed.id;
        const existed = await repository.remove(id);
        logger.info({ linkId: id, action, existed }, "campaign link deleted");
      }
      // Every instance, this one included, hears of the change from the database; reading it back
      // here as well means this instance serves it before answering. It is read rather than stored
      // from the write, so a concurrent write to the same link cannot leave the older one in memory.
      await links.refresh(id).catch((error: unknown) => {
        logger.warn(
          { err: error, linkId: id },
          "campaign link changed but not reloaded here yet: the change feed or the next reload will bring it",
        );
      });
      return answer(action, "ok", c.json({ status: "ok" }));
    } catch (error) {
      // Answered and logged (with a request id) by app.onError.
      metrics.countApiRequest(action, "error");
      throw error;
    }
  });
}

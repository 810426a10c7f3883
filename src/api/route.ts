import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { App, AppEnv, Services } from "../app";
import { parseLinkId, parseLinkJson } from "../links/validation";
import { verifySignature } from "./signature";

const MAX_BODY_BYTES = 64 * 1024;

type Form = Record<string, string | File | (string | File)[]>;

function field(form: Form, name: string): string | undefined {
  const value = form[name];
  return typeof value === "string" ? value : undefined;
}

function badRequest(c: Context<AppEnv>, fieldName: string, message: string) {
  return c.json({ status: "error", field: fieldName, error: `${fieldName} ${message}` }, 400);
}

/**
 * The link API the analytics tool calls, wire-compatible with the original:
 * POST /api/:version/create and /api/:version/delete, form-encoded, signed.
 */
export function registerApiRoutes(app: App, services: Services): void {
  const { config, repository, links, logger } = services;
  const secret = config.apiSecretKey;
  const enabled = secret !== undefined || config.allowUnsignedApi;

  app.post(
    "/api/:version/:action{create|delete}",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ status: "error", error: "body larger than 64 KiB" }, 413),
    }),
    async (c) => {
      if (!enabled) return c.notFound();
      let form: Form;
      try {
        form = await c.req.parseBody({ all: false });
      } catch {
        form = {};
      }
      const payload = field(form, "campaign_link");
      if (secret !== undefined) {
        const salt = c.req.header("x-api-salt");
        const pepper = field(form, "pepper");
        // An unsigned or wrongly signed request learns nothing: it looks like an unknown route.
        if (salt === undefined || pepper === undefined || payload === undefined) return c.notFound();
        if (!verifySignature(salt, payload, secret, pepper)) return c.notFound();
      }
      if (payload === undefined) return badRequest(c, "campaign_link", "is required");

      const action = c.req.param("action");
      let id: number;
      if (action === "create") {
        const parsed = parseLinkJson(payload);
        if (!parsed.ok) return badRequest(c, parsed.field, parsed.message);
        id = (await repository.upsert(parsed.link)).id;
        logger.info({ linkId: id, action }, "campaign link saved");
      } else {
        const parsed = parseLinkId(payload);
        if (!parsed.ok) return badRequest(c, parsed.field, parsed.message);
        id = parsed.id;
        const existed = await repository.remove(id);
        logger.info({ linkId: id, action, existed }, "campaign link deleted");
      }
      // Every instance, this one included, hears of the change from the database; reading it back here
      // as well means this instance serves it before answering. It is read rather than stored from the
      // write, so a concurrent write to the same link cannot leave the older version in memory.
      await links.refresh(id).catch((error: unknown) => {
        logger.warn(
          { err: error, linkId: id },
          "campaign link changed but not reloaded here yet: the change feed or the next reload will bring it",
        );
      });
      return c.json({ status: "ok" });
    },
  );
}

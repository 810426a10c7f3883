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
      if (action === "create") {
        const parsed = parseLinkJson(payload);
        if (!parsed.ok) return badRequest(c, parsed.field, parsed.message);
        const link = await repository.upsert(parsed.link);
        links.put(link);
        logger.info({ linkId: link.id, action }, "campaign link saved");
      } else {
        const parsed = parseLinkId(payload);
        if (!parsed.ok) return badRequest(c, parsed.field, parsed.message);
        const existed = await repository.remove(parsed.id);
        links.drop(parsed.id);
        logger.info({ linkId: parsed.id, action, existed }, "campaign link deleted");
      }
      return c.json({ status: "ok" });
    },
  );
}

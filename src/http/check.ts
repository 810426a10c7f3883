import type { App, Services } from "../app";

/**
 * The health check fly.io and load balancers poll: can clicks be kept right now? Only when neither a
 * Redis node nor the spool can take one does it answer 503. With `Accept: application/json` it also
 * tells each node's state and the spool's depth.
 */
export function registerCheckRoute(app: App, { clickstore }: Pick<Services, "clickstore">): void {
  app.get("/check", async (c) => {
    const health = await clickstore.health();
    const status = health.acceptsClicks ? 200 : 503;
    if (c.req.header("accept")?.includes("application/json")) return c.json(health, status);
    return health.acceptsClicks ? c.text("OK") : c.text("Database unreachable", 503);
  });
}

import type { App, Services } from "../app";

/**
 * The health check fly.io and load balancers poll: can clicks be kept right now? Before the links are
 * loaded it answers 503 with the reason. After that, it answers 503 only when neither a Redis node nor
 * the spool can take a click. With `Accept: application/json` it also tells each node's state and the
 * spool's depth.
 */
export function registerCheckRoute(
  app: App,
  { clickstore, readiness }: Pick<Services, "clickstore" | "readiness">,
): void {
  app.get("/check", async (c) => {
    const notReady = readiness.notReadyBecause();
    if (notReady !== undefined) return c.text(notReady, 503);
    const health = await clickstore.health();
    const status = health.acceptsClicks ? 200 : 503;
    if (c.req.header("accept")?.includes("application/json")) return c.json(health, status);
    return health.acceptsClicks ? c.text("OK") : c.text("Database unreachable", 503);
  });
}

import type { App, Services } from "../app";

/** The health check fly.io and load balancers poll: can clicks be stored right now? */
export function registerCheckRoute(
  app: App,
  { clickstore, readiness }: Pick<Services, "clickstore" | "readiness">,
): void {
  app.get("/check", async (c) => {
    const notReady = readiness.notReadyBecause();
    if (notReady !== undefined) return c.text(notReady, 503);
    return (await clickstore.healthy()) ? c.text("OK") : c.text("Database unreachable", 503);
  });
}

import type { App, Services } from "../app";

/** The health check fly.io and load balancers poll: can clicks be stored right now? */
export function registerCheckRoute(app: App, { clickstore }: Pick<Services, "clickstore">): void {
  app.get("/check", async (c) =>
    (await clickstore.healthy()) ? c.text("OK") : c.text("Database unreachable", 503),
  );
}

import type { App, Services } from "../app";
import type { ClickstoreHealth } from "../clickstore/clickstore";

type CheckServices = Pick<Services, "clickstore" | "readiness">;

/**
 * The one decision whether this machine should get clicks: why /check answers 503 (undefined: it
 * answers 200), and the clickstore's health once the links are loaded. The HTTPS gate behind the
 * PROXY front and the `clicks_ready` gauge follow it too.
 */
export async function checkClicks({
  clickstore,
  readiness,
}: CheckServices): Promise<{ notReady: string | undefined; health: ClickstoreHealth | undefined }> {
  const notReady = readiness.notReadyBecause();
  if (notReady !== undefined) return { notReady, health: undefined };
  const health = await clickstore.health();
  return { notReady: health.acceptsClicks ? undefined : "Database unreachable", health };
}

/**
 * The health check fly.io and load balancers poll: can clicks be kept right now? Before the links are
 * loaded it answers 503 with the reason (the database's problem, when a load failed). After that, it
 * answers 503 only when neither a Redis node nor the spool can take a click. With
 * `Accept: application/json` it also tells each node's state and the spool's depth.
 */
export function registerCheckRoute(app: App, services: CheckServices): void {
  app.get("/check", async (c) => {
    const { notReady, health } = await checkClicks(services);
    const status = notReady === undefined ? 200 : 503;
    if (health !== undefined && c.req.header("accept")?.includes("application/json")) {
      return c.json(health, status);
    }
    return notReady === undefined ? c.text("OK") : c.text(notReady, 503);
  });
}

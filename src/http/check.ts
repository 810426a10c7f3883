import type { App, Services } from "../app";
import { assessReadiness } from "./readiness";

/**
 * The health check fly.io and load balancers poll: can clicks be kept right now? Before the links are
 * loaded it answers 503 with the reason (the database's problem, when a load failed). After that, it
 * answers 503 only when neither a Redis node nor the spool can take a click. With
 * `Accept: application/json` it also tells each node's state and the spool's depth.
 */
export function registerCheckRoute(
  app: App,
  { clickstore, readiness }: Pick<Services, "clickstore" | "readiness">,
): void {
  app.get("/check", async (c) => {
    const assessment = await assessReadiness(readiness, clickstore);
    if (assessment.health !== undefined && c.req.header("accept")?.includes("application/json")) {
      return c.json(assessment.health, assessment.ready ? 200 : 503);
    }
    return assessment.ready ? c.text("OK") : c.text(assessment.reason, 503);
  });
}

import { timingSafeEqual } from "node:crypto";
import type { Server } from "bun";
import type { App, Services } from "../app";
import type { Metrics } from "./metrics";

const BEARER = /^Bearer +(\S+) *$/i;

function sha256(text: string): Buffer {
  return Buffer.from(new Bun.CryptoHasher("sha256").update(text).digest());
}

/**
 * Does this Authorization header carry the token? Both sides are hashed first, so the
 * comparison is constant-time and of one length whatever was sent.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = header === undefined ? undefined : BEARER.exec(header)?.[1];
  if (given === undefined) return false;
  return timingSafeEqual(sha256(given), sha256(token));
}

export async function metricsResponse(metrics: Metrics): Promise<Response> {
  return new Response(await metrics.render(), { headers: { "content-type": metrics.contentType } });
}

/** GET /metrics on the public ports: only with METRICS_TOKEN set, and only for a request bearing it. */
export function registerMetricsRoute(
  app: App,
  { config, metrics }: Pick<Services, "config" | "metrics">,
): void {
  const token = config.metricsToken;
  if (token === undefined) return;
  app.get("/metrics", (c) =>
    bearerMatches(c.req.header("authorization"), token)
      ? metricsResponse(metrics)
      : c.text("Unauthorized", 401, { "www-authenticate": 'Bearer realm="metrics"' }),
  );
}

/**
 * What the METRICS_PORT listener serves: GET /metrics and nothing else. `respond` answers it: this
 * process's metrics, or with WORKERS=N the primary's sum of its workers'.
 */
export function metricsListenerRoutes(respond: () => Promise<Response>) {
  return { "/metrics": { GET: respond } };
}

/** The METRICS_PORT listener, for a scraper on the private network. */
export function startMetricsListener(options: {
  host: string;
  port: number;
  respond: () => Promise<Response>;
}): Server<undefined> {
  return Bun.serve({
    hostname: options.host,
    port: options.port,
    routes: metricsListenerRoutes(options.respond),
    fetch: () => new Response("Not Found", { status: 404 }),
  });
}

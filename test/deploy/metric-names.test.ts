import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { RunningService } from "../../src/server";
import { Scrape } from "../support/metrics";
import { dashboardExpressions, metricNames, readDashboard, ruleExpressions } from "../support/promql";
import type { RedisServer } from "../support/redis";
import { startServiceWithRedis } from "../support/service";

// A real redis-server, PostgreSQL and the service start here: more than the default 5 s on a busy machine.
setDefaultTimeout(30_000);

const METRICS_TOKEN = "metric-names-test-token";
// Series Prometheus writes itself for each scrape target, not the service.
const SCRAPE_SERIES = new Set(["up"]);

let redis: RedisServer;
let service: RunningService;
let scrape: Scrape;
let queries: Map<string, string>;

/** `name{label="value", …}` selectors with exact matchers on literal values (not on a dashboard variable). */
function exactSelectors(expression: string): Array<{ name: string; labels: Record<string, string> }> {
  return [...expression.matchAll(/([a-zA-Z_:][\w:]*)\{([^}]*)\}/g)].map((selector) => {
    const labels: Record<string, string> = {};
    for (const matcher of (selector[2] as string).matchAll(/(\w+)\s*=\s*"([^"$]*)"/g)) {
      labels[matcher[1] as string] = matcher[2] as string;
    }
    return { name: selector[1] as string, labels };
  });
}

beforeAll(async () => {
  ({ redis, service } = await startServiceWithRedis({ METRICS_TOKEN }));
  const response = await fetch(`${service.url}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  scrape = await Scrape.of(response);
  queries = new Map([
    ...[...(await ruleExpressions())].map(([alert, expression]) => [`alert ${alert}`, expression] as const),
    ...[...dashboardExpressions(await readDashboard())].map(
      ([panel, expression]) => [`dashboard ${panel}`, expression] as const,
    ),
  ]);
});

afterAll(async () => {
  await service?.stop();
  await redis?.stop();
});

describe("the alert rules and the dashboard read only what a running service exports", () => {
  test("every metric name they use is in a scrape of a service with a Redis clickstore", () => {
    const exported = scrape.names();
    const missing: string[] = [];
    for (const [query, expression] of queries) {
      const names = metricNames(expression);
      expect({ query, names: names.length > 0 }).toEqual({ query, names: true });
      for (const name of names) {
        if (!exported.has(name) && !SCRAPE_SERIES.has(name)) missing.push(`${query}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test("every label value they select on exactly exists from the start", () => {
    const missing: string[] = [];
    for (const [query, expression] of queries) {
      for (const { name, labels } of exactSelectors(expression)) {
        if (SCRAPE_SERIES.has(name)) continue;
        if (!scrape.hasSeries(name, labels)) missing.push(`${query}: ${name}${JSON.stringify(labels)}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test("the links are followed once loaded", () => {
    expect(scrape.value("clicks_link_changes_followed")).toBe(1);
    expect(scrape.value("clicks_ready")).toBe(1);
  });
});

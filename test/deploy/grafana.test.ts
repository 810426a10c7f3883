import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { dashboardExpressions, metricNames, readDashboard } from "../support/promql";
import { runCommand, tempDir } from "../support/service";

// What an operator looks at first; each must have a panel.
const REQUIRED_METRICS = [
  "clicks_total",
  "clicks_click_duration_seconds_bucket",
  "clicks_clickstore_push_duration_seconds_bucket",
  "clicks_clickstore_circuit_state",
  "clicks_spool_bytes",
  "clicks_link_cache_links",
  "clicks_link_changes_followed",
  "clicks_links_loaded_timestamp_seconds",
  "clicks_api_requests_total",
];

// How a panel names the data source the dashboard's variable picks.
const DATASOURCE = `\${datasource}`;

// Grafana's own variables, as Grafana would fill them in before sending a query.
function asSent(expression: string): string {
  return expression.replaceAll("$__rate_interval", "1m").replaceAll("$instance", ".*");
}

describe("deploy/grafana/clicks.json", () => {
  test("is a dashboard with a Prometheus data source variable that every query uses", async () => {
    const dashboard = await readDashboard();
    expect(dashboard.uid).toBe("clicks");
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const variables = dashboard.templating.list;
    expect(variables.find((variable) => variable.name === "datasource")).toMatchObject({
      type: "datasource",
      query: "prometheus",
    });
    for (const panel of dashboard.panels.filter((each) => each.type !== "row")) {
      expect({ panel: panel.title, datasource: panel.datasource?.uid }).toEqual({
        panel: panel.title,
        datasource: DATASOURCE,
      });
      const targets = panel.targets ?? [];
      expect({ panel: panel.title, targets: targets.length > 0 }).toEqual({
        panel: panel.title,
        targets: true,
      });
      expect(new Set(targets.map((target) => target.refId)).size).toBe(targets.length);
      for (const target of targets) expect(target.datasource?.uid).toBe(DATASOURCE);
    }
  });

  test("panels have unique ids and do not overlap on the 24-column grid", async () => {
    const { panels } = await readDashboard();
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    const taken = new Map<string, string>();
    const overlaps: string[] = [];
    for (const { title, gridPos } of panels) {
      expect({ title, fits: gridPos.x >= 0 && gridPos.w > 0 && gridPos.x + gridPos.w <= 24 }).toEqual({
        title,
        fits: true,
      });
      for (let row = gridPos.y; row < gridPos.y + gridPos.h; row++) {
        for (let column = gridPos.x; column < gridPos.x + gridPos.w; column++) {
          const cell = `${row},${column}`;
          const other = taken.get(cell);
          if (other !== undefined) overlaps.push(`${title} over ${other} at ${cell}`);
          taken.set(cell, title);
        }
      }
    }
    expect(overlaps).toEqual([]);
  });

  test("shows clicks, latency, clickstores, spool, links and the link API", async () => {
    const used = new Set([...dashboardExpressions(await readDashboard()).values()].flatMap(metricNames));
    expect(REQUIRED_METRICS.filter((name) => !used.has(name))).toEqual([]);
  });

  test("every query is PromQL that promtool parses", async () => {
    const queries = [...dashboardExpressions(await readDashboard())];
    const rules = {
      groups: [
        {
          name: "dashboard",
          rules: queries.map(([, expression], index) => ({
            record: `dashboard:query_${index}`,
            expr: asSent(expression),
          })),
        },
      ],
    };
    const file = join(tempDir(), "dashboard-queries.yml");
    // JSON is YAML: promtool reads it as a rules file.
    await Bun.write(file, JSON.stringify(rules));
    const result = await runCommand(["promtool", "check", "rules", file]);
    expect({ code: result.code, output: result.stdout + result.stderr }).toEqual({
      code: 0,
      output: expect.stringContaining(`SUCCESS: ${queries.length} rules found`),
    });
  });
});

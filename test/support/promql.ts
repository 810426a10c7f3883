import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
export const RULES_FILE = join("deploy", "prometheus", "alerts.yml");
export const DASHBOARD_FILE = join("deploy", "grafana", "clicks.json");

// Words of PromQL that stand where a metric name could: operators and modifiers.
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
]);

/**
 * The metric names a PromQL expression reads. Strings, label matchers, ranges and grouping lists are
 * dropped first; an identifier followed by `(` is a function or an aggregation.
 */
export function metricNames(expression: string): string[] {
  const bare = expression
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w$.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    const name = match[1] as string;
    if (!KEYWORDS.has(name)) names.add(name);
  }
  return [...names];
}

async function read(file: string): Promise<string> {
  return Bun.file(join(ROOT, file)).text();
}

/** Every alert's expression, by alert name. */
export async function ruleExpressions(): Promise<Map<string, string>> {
  const rules = Bun.YAML.parse(await read(RULES_FILE)) as {
    groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
  };
  return new Map(
    rules.groups.flatMap((group) => group.rules.map((rule) => [rule.alert, rule.expr] as const)),
  );
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; refId: string; legendFormat?: string; datasource?: { uid: string } }>;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
  panels: DashboardPanel[];
}

export async function readDashboard(): Promise<Dashboard> {
  return JSON.parse(await read(DASHBOARD_FILE)) as Dashboard;
}

/** Every query of the dashboard, by "panel title / refId". */
export function dashboardExpressions(dashboard: Dashboard): Map<string, string> {
  return new Map(
    dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target) => [`${panel.title} / ${target.refId}`, target.expr] as const),
    ),
  );
}

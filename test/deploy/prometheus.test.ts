import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runCommand } from "../support/service";

const RULES = join("deploy", "prometheus", "alerts.yml");
const RULE_TESTS = join("deploy", "prometheus", "alerts.test.yml");
// What an on-call person reads in each alert: what it means, what to check, what to do.
const RUNBOOK = ["summary", "description", "check", "action"];

interface Rule {
  alert: string;
  labels: { severity: string };
  annotations: Record<string, string>;
}
interface RuleTest {
  alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }>;
}

async function readYaml<T>(file: string): Promise<T> {
  return Bun.YAML.parse(await Bun.file(join(import.meta.dir, "..", "..", file)).text()) as T;
}

async function promtool(...args: string[]) {
  const result = await runCommand(["promtool", ...args]).catch((error: unknown) => {
    throw new Error(`promtool did not run (npm test installs Debian's prometheus package): ${error}`);
  });
  return { code: result.code, output: result.stdout + result.stderr };
}

describe("Prometheus alert rules", () => {
  test("promtool finds the rules valid", async () => {
    const { code, output } = await promtool("check", "rules", RULES);
    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining("SUCCESS") });
  });

  test("promtool's unit tests pass", async () => {
    const { code, output } = await promtool("test", "rules", RULE_TESTS);
    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining("SUCCESS") });
  });

  test("every alert has a severity, a runbook, and a unit test in which it fires and one in which it does not", async () => {
    const rules = (await readYaml<{ groups: Array<{ rules: Rule[] }> }>(RULES)).groups.flatMap(
      (group) => group.rules,
    );
    const cases = (await readYaml<{ tests: RuleTest[] }>(RULE_TESTS)).tests.flatMap(
      (each) => each.alert_rule_test,
    );
    expect(rules.length).toBeGreaterThanOrEqual(7);
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: rule.labels.severity }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(page|ticket)$/),
      });
      expect({ alert: rule.alert, annotations: Object.keys(rule.annotations) }).toEqual({
        alert: rule.alert,
        annotations: RUNBOOK,
      });
      const own = cases.filter((each) => each.alertname === rule.alert);
      expect({ alert: rule.alert, fires: own.some((each) => each.exp_alerts.length > 0) }).toEqual({
        alert: rule.alert,
        fires: true,
      });
      expect({ alert: rule.alert, quiet: own.some((each) => each.exp_alerts.length === 0) }).toEqual({
        alert: rule.alert,
        quiet: true,
      });
    }
  });
});

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import { ROOT } from "./markdown";

type Environment = Record<string, string | undefined>;

/**
 * The variables the configuration reads, as loadConfig asks an environment for them: taken from its
 * behaviour rather than its source, so a rewrite of src/config.ts cannot hide a variable from the docs.
 */
function variablesRead(): string[] {
  const read = new Set<string>();
  const environment = new Proxy<Environment>(
    {},
    {
      get(target, name) {
        if (typeof name === "string" && /^[A-Z][A-Z0-9_]*$/.test(name)) read.add(name);
        return Reflect.get(target, name);
      },
    },
  );
  loadConfig(environment);
  // The numbered clickstores are found by their pattern among whatever is set, never asked for by name.
  const numbered = "REDIS_URL_CLICKSTORE_1";
  if (loadConfig({ [numbered]: "redis://127.0.0.1:6379" }).clickstores.length === 1) read.add(numbered);
  return [...read].sort();
}

const variables = variablesRead();

describe("every configuration variable is documented", () => {
  test("the variables are read from the configuration itself", () => {
    expect(variables).toContain("PORT");
    expect(variables).toContain("REDIS_URL_CLICKSTORE_1");
    expect(variables.length).toBeGreaterThan(20);
  });

  const table = readFileSync(join(ROOT, "docs", "configuration.md"), "utf8");
  test.each(variables)("docs/configuration.md names %s", (name) => {
    expect(table).toContain(`\`${name}\``);
  });

  const example = readFileSync(join(ROOT, ".env.example"), "utf8");
  test.each(variables)(".env.example sets %s", (name) => {
    expect(example).toMatch(new RegExp(`^(# )?${name}=`, "m"));
  });
});

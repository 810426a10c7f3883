import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config";
import { bearerMatches } from "../../src/metrics/route";
import { describeConfig } from "../../src/server";

describe("METRICS_PORT and METRICS_TOKEN", () => {
  test("both unset or empty: no metrics listener, no /metrics on the public port", () => {
    for (const env of [{}, { METRICS_PORT: "", METRICS_TOKEN: "" }]) {
      const config = loadConfig(env);
      expect(config.metricsPort).toBeUndefined();
      expect(config.metricsToken).toBeUndefined();
    }
  });

  test("read when set", () => {
    const config = loadConfig({ METRICS_PORT: "9091", METRICS_TOKEN: "a-token-of-24-characters" });
    expect(config.metricsPort).toBe(9091);
    expect(config.metricsToken).toBe("a-token-of-24-characters");
  });

  test("bad values are named", () => {
    const bad = () => loadConfig({ METRICS_PORT: "metrics", METRICS_TOKEN: "short" });
    expect(bad).toThrow('METRICS_PORT="metrics": must be a port number');
    // A secret's bad value is named, never shown: the message goes to the log.
    expect(bad).toThrow("METRICS_TOKEN: must be at least 16 characters");
    expect(bad).not.toThrow("short");
    expect(() => loadConfig({ METRICS_PORT: "70000" })).toThrow(
      'METRICS_PORT="70000": must be between 1 and 65535',
    );
    expect(() => loadConfig({ PORT: "8080", METRICS_PORT: "8080" })).toThrow(
      "METRICS_PORT=8080: must differ from PORT",
    );
  });

  test("the start line tells whether they are set, never the token", () => {
    const described = describeConfig(
      loadConfig({ METRICS_PORT: "9091", METRICS_TOKEN: "a-token-of-24-characters" }),
    );
    expect(described).toMatchObject({ metricsPort: 9091, metricsOnPublicPorts: true });
    expect(JSON.stringify(described)).not.toContain("a-token-of-24-characters");
  });
});

describe("bearerMatches", () => {
  const token = "a-token-of-24-characters";

  test("the token after Bearer, in any case, with spaces around", () => {
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`bearer  ${token} `, token)).toBe(true);
  });

  test("anything else does not match", () => {
    for (const header of [
      undefined,
      "",
      token,
      `Basic ${token}`,
      `Bearer ${token}x`,
      `Bearer ${token.slice(1)}`,
      "Bearer ",
    ]) {
      expect(bearerMatches(header, token)).toBe(false);
    }
  });
});

import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("the clickstore reliability settings", () => {
  test("default to the original's breaker, a spool under DATA_DIR, and a 10 s shutdown grace", () => {
    const config = loadConfig({ DATA_DIR: "/var/clicks" });
    expect(config.redisPushTimeoutMs).toBe(250);
    expect(config.breaker).toEqual({ failureThreshold: 5, firstProbeMs: 2_000, maxProbeMs: 128_000 });
    expect(config.spool).toEqual({ dir: "/var/clicks/spool", maxBytes: 512 * 1024 * 1024 });
    expect(config.shutdownGraceMs).toBe(10_000);
  });

  test("are read from the environment", () => {
    const config = loadConfig({
      REDIS_BREAKER_FAILURES: "3",
      REDIS_BREAKER_PROBE_MS: "500",
      REDIS_BREAKER_PROBE_MAX_MS: "60000",
      SPOOL_DIR: "/data/spool",
      SPOOL_MAX_BYTES: "1048576",
      SHUTDOWN_GRACE_MS: "25000",
    });
    expect(config.breaker).toEqual({ failureThreshold: 3, firstProbeMs: 500, maxProbeMs: 60_000 });
    expect(config.spool).toEqual({ dir: "/data/spool", maxBytes: 1_048_576 });
    expect(config.shutdownGraceMs).toBe(25_000);
  });

  test("name every bad value", () => {
    expect(
      problems({
        REDIS_BREAKER_FAILURES: "0",
        REDIS_BREAKER_PROBE_MS: "soon",
        SPOOL_MAX_BYTES: "100",
        SHUTDOWN_GRACE_MS: "1.5",
      }),
    ).toEqual([
      'REDIS_BREAKER_FAILURES="0": must be at least 1',
      'REDIS_BREAKER_PROBE_MS="soon": must be a number of milliseconds',
      'SPOOL_MAX_BYTES="100": must be at least 16384',
      'SHUTDOWN_GRACE_MS="1.5": must be a whole number of milliseconds',
    ]);
    expect(problems({ REDIS_BREAKER_PROBE_MS: "5000", REDIS_BREAKER_PROBE_MAX_MS: "1000" })).toEqual([
      "REDIS_BREAKER_PROBE_MAX_MS: must be at least REDIS_BREAKER_PROBE_MS",
    ]);
  });
});

import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../src/config";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("loadConfig", () => {
  test("embedded defaults with an empty environment", () => {
    const config = loadConfig({});
    expect(config.port).toBe(2343);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.clickstores).toEqual([]);
    expect(config.trustProxy).toBe("off");
    expect(config.apiSecretKey).toBeUndefined();
    expect(config.allowUnsignedApi).toBe(false);
    expect(config.apiSignature).toBe("legacy+v2");
    expect(config.tls).toBeUndefined();
  });

  test("API_SIGNATURE: legacy+v2 or v2, anything else named", () => {
    expect(loadConfig({ API_SIGNATURE: "v2" }).apiSignature).toBe("v2");
    expect(loadConfig({ API_SIGNATURE: "legacy+v2" }).apiSignature).toBe("legacy+v2");
    expect(loadConfig({ API_SIGNATURE: "" }).apiSignature).toBe("legacy+v2");
    expect(problems({ API_SIGNATURE: "legacy" })).toEqual([
      'API_SIGNATURE="legacy": must be one of legacy+v2, v2',
    ]);
  });

  test("clickstores in the order of their number, any number of them", () => {
    const config = loadConfig({
      REDIS_URL_CLICKSTORE_10: "redis://c:6379",
      REDIS_URL_CLICKSTORE_2: "redis://b:6379",
      REDIS_URL_CLICKSTORE_1: "redis://a:6379",
      REDIS_URL_CLICKSTORE_3: "",
    });
    expect(config.clickstores).toEqual(["redis://a:6379", "redis://b:6379", "redis://c:6379"]);
  });

  test("every bad value is named, with what was wrong", () => {
    const found = problems({
      PORT: "http",
      DATABASE_URL: "mysql://x",
      REDIS_URL_CLICKSTORE_1: "localhost:6379",
      ALLOW_UNSIGNED_API: "yes",
      NOT_FOUND_URL: "/relative",
      TRUST_PROXY: "all",
      REDIS_PUSH_TIMEOUT_MS: "0",
    });
    const text = found.join("\n");
    for (const name of [
      "PORT",
      "DATABASE_URL",
      "REDIS_URL_CLICKSTORE_1",
      "ALLOW_UNSIGNED_API",
      "NOT_FOUND_URL",
      "TRUST_PROXY",
      "REDIS_PUSH_TIMEOUT_MS",
    ]) {
      expect(text).toContain(name);
    }
    expect(found.length).toBe(7);
  });

  test("TLS needs both files", () => {
    expect(problems({ TLS_CERT_FILE: "/tmp/cert.pem" }).join()).toContain("TLS_KEY_FILE");
  });
});

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
    expect(
      problems({ REDIS_BREAKER_PROBE_MS: "5000", REDIS_BREAKER_PROBE_MAX_MS: "1000", WORKERS: "2" }),
    ).toEqual([
      "REDIS_BREAKER_PROBE_MAX_MS: must be at least REDIS_BREAKER_PROBE_MS",
      "WORKERS=2: more than one worker needs DATABASE_URL (the embedded PGlite database belongs to one process)",
    ]);
  });

  test("a bad secret is named, its value never shown", () => {
    expect(problems({ DATABASE_URL: "mysql://clicks:hunter2-password@db/clicks" })).toEqual([
      "DATABASE_URL: must be a postgres:// URL",
    ]);
  });
});

describe("link change settings", () => {
  test("a full reload every minute and a 200 ms bound on misses by default", () => {
    const config = loadConfig({});
    expect(config.linkRefreshSeconds).toBe(60);
    expect(config.linkLookupTimeoutMs).toBe(200);
  });

  test("set from the environment", () => {
    const config = loadConfig({ LINK_REFRESH_SECONDS: "15", LINK_LOOKUP_TIMEOUT_MS: "50" });
    expect(config.linkRefreshSeconds).toBe(15);
    expect(config.linkLookupTimeoutMs).toBe(50);
  });

  test("bad values are named", () => {
    expect(problems({ LINK_REFRESH_SECONDS: "0", LINK_LOOKUP_TIMEOUT_MS: "soon" })).toEqual([
      'LINK_REFRESH_SECONDS="0": must be at least 1',
      'LINK_LOOKUP_TIMEOUT_MS="soon": must be a number of milliseconds',
    ]);
    expect(problems({ LINK_REFRESH_SECONDS: "1.5" })).toEqual([
      'LINK_REFRESH_SECONDS="1.5": must be a whole number of seconds',
    ]);
  });
});

describe("destination checks", () => {
  test("off by default, and so is the fallback", () => {
    const config = loadConfig({});
    expect(config.destinationCheckSeconds).toBe(0);
    expect(config.deadDestinationFallback).toBe(false);
  });

  test("any whole number of seconds from 1 turns them on, the fallback with them unless off", () => {
    expect(loadConfig({ DESTINATION_CHECK_SECONDS: "1" })).toMatchObject({
      destinationCheckSeconds: 1,
      deadDestinationFallback: true,
    });
    expect(loadConfig({ DESTINATION_CHECK_SECONDS: "900", DEAD_DESTINATION_FALLBACK: "off" })).toMatchObject({
      destinationCheckSeconds: 900,
      deadDestinationFallback: false,
    });
    expect(loadConfig({ DESTINATION_CHECK_SECONDS: "900", DEAD_DESTINATION_FALLBACK: "on" })).toMatchObject({
      deadDestinationFallback: true,
    });
    // Without checks nothing is ever dead: the fallback has nothing to act on.
    expect(loadConfig({ DEAD_DESTINATION_FALLBACK: "on" }).deadDestinationFallback).toBe(false);
  });

  test("bad values are named", () => {
    expect(problems({ DESTINATION_CHECK_SECONDS: "-1", DEAD_DESTINATION_FALLBACK: "yes" })).toEqual([
      'DESTINATION_CHECK_SECONDS="-1": must be at least 0',
      'DEAD_DESTINATION_FALLBACK="yes": must be on or off',
    ]);
    expect(problems({ DESTINATION_CHECK_SECONDS: "0.5" })).toEqual([
      'DESTINATION_CHECK_SECONDS="0.5": must be a whole number of seconds',
    ]);
  });
});

const TLS = { TLS_CERT_FILE: "/tls/cert.pem", TLS_KEY_FILE: "/tls/key.pem" };

describe("listener configuration", () => {
  test("defaults: HTTP on 2343, HTTPS on 8443 once TLS is set, no PROXY front", () => {
    const config = loadConfig({ ...TLS });
    expect([config.port, config.httpsPort, config.proxyProtocol]).toEqual([2343, 8443, "off"]);
    expect(config.tls).toEqual({ certFile: "/tls/cert.pem", keyFile: "/tls/key.pem" });
  });

  test("PROXY_PROTOCOL takes v1 and v2 with TLS", () => {
    expect(loadConfig({ ...TLS, PROXY_PROTOCOL: "v1" }).proxyProtocol).toBe("v1");
    expect(loadConfig({ ...TLS, PROXY_PROTOCOL: "v2" }).proxyProtocol).toBe("v2");
    expect(loadConfig({ ...TLS, PROXY_PROTOCOL: "" }).proxyProtocol).toBe("off");
  });

  test("bad values are named", () => {
    expect(problems({ ...TLS, PROXY_PROTOCOL: "v3" })).toEqual([
      'PROXY_PROTOCOL="v3": must be one of off, v1, v2',
    ]);
    expect(problems({ ...TLS, HTTPS_PORT: "70000" })).toEqual([
      'HTTPS_PORT="70000": must be between 1 and 65535',
    ]);
    expect(problems({ ...TLS, PORT: "8443" })).toEqual(['HTTPS_PORT="8443": must differ from PORT']);
  });

  test("the PROXY front needs TLS, since it sits before the HTTPS listener", () => {
    expect(problems({ PROXY_PROTOCOL: "v2" })).toEqual([
      'PROXY_PROTOCOL="v2": needs TLS_CERT_FILE and TLS_KEY_FILE (the PROXY front sits before the HTTPS listener)',
    ]);
  });

  test("without TLS, PORT may be anything, HTTPS_PORT included", () => {
    expect(loadConfig({ PORT: "8443" }).port).toBe(8443);
  });
});

describe("WORKERS", () => {
  const postgres = { DATABASE_URL: "postgres://clicks@127.0.0.1:5432/clicks" };

  test("one process by default; any number from 1 to 64 with Postgres", () => {
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ ...postgres, WORKERS: "4" }).workers).toBe(4);
    for (const bad of ["0", "65", "two", "1.5"])
      expect(problems({ WORKERS: bad }).join()).toContain("WORKERS");
  });

  test("more than one worker needs Postgres: the embedded database belongs to one process", () => {
    expect(problems({ WORKERS: "2" }).join()).toContain("needs DATABASE_URL");
    expect(problems({ WORKERS: "1" })).toEqual([]);
  });

  test("with several workers METRICS_PORT is still one port (the primary serves their sum): only it must miss PORT", () => {
    expect(loadConfig({ ...postgres, WORKERS: "2", PORT: "8080", METRICS_PORT: "9090" }).metricsPort).toBe(
      9090,
    );
    expect(problems({ ...postgres, WORKERS: "2", PORT: "9091", METRICS_PORT: "9090" })).toEqual([]);
    expect(problems({ ...postgres, WORKERS: "2", PORT: "9090", METRICS_PORT: "9090" }).join()).toContain(
      "METRICS_PORT=9090: must differ from PORT",
    );
    expect(problems({ ...postgres, WORKERS: "3", METRICS_PORT: "65535" })).toEqual([]);
  });
});

describe("PLAY_REFERRER", () => {
  test("on unless set to off", () => {
    expect(loadConfig({}).playReferrer).toBe(true);
    expect(loadConfig({ PLAY_REFERRER: "" }).playReferrer).toBe(true);
    expect(loadConfig({ PLAY_REFERRER: "on" }).playReferrer).toBe(true);
    expect(loadConfig({ PLAY_REFERRER: "off" }).playReferrer).toBe(false);
  });

  test("anything else is named", () => {
    expect(problems({ PLAY_REFERRER: "false" })).toEqual(['PLAY_REFERRER="false": must be on or off']);
  });
});

describe("attribution switches", () => {
  test("default to the original's behaviour: zeroed ids kept, non-human clicks stored", () => {
    const config = loadConfig({});
    expect(config.zeroedAdid).toBe("keep");
    expect(config.nonHumanClicks).toBe("store");
    expect(loadConfig({ ZEROED_ADID: "", NON_HUMAN_CLICKS: "" })).toMatchObject({
      zeroedAdid: "keep",
      nonHumanClicks: "store",
    });
  });

  test("are read from the environment", () => {
    expect(loadConfig({ ZEROED_ADID: "fingerprint", NON_HUMAN_CLICKS: "skip" })).toMatchObject({
      zeroedAdid: "fingerprint",
      nonHumanClicks: "skip",
    });
  });

  test("bad values are named", () => {
    expect(problems({ ZEROED_ADID: "drop", NON_HUMAN_CLICKS: "Skip" })).toEqual([
      'ZEROED_ADID="drop": must be one of keep, fingerprint',
      'NON_HUMAN_CLICKS="Skip": must be one of store, skip',
    ]);
  });
});

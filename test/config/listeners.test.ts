import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config";

const TLS = { TLS_CERT_FILE: "/tls/cert.pem", TLS_KEY_FILE: "/tls/key.pem" };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

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

  test("half a certificate pair is refused", () => {
    expect(problems({ TLS_CERT_FILE: "/tls/cert.pem" })).toEqual([
      "TLS_CERT_FILE and TLS_KEY_FILE: set both or neither",
    ]);
  });

  test("without TLS, PORT may be anything, HTTPS_PORT included", () => {
    expect(loadConfig({ PORT: "8443" }).port).toBe(8443);
  });
});

import { describe, expect, test } from "bun:test";
import type { TrustProxy } from "../../src/config";
import { createClientIp, type ListenerKind, type PeerLookup, trustedHeader } from "../../src/http/client-ip";

const peer = (listener: ListenerKind, address: string | null = "10.1.2.3"): PeerLookup => ({
  listener,
  requestIP: () => (address === null ? null : { address }),
});

const request = (headers: Record<string, string>) =>
  new Request("http://clicks.test/click/1/go", { headers });

describe("which header can name the client, by TRUST_PROXY and listener", () => {
  const table: Array<[TrustProxy, ListenerKind, string | undefined]> = [
    ["off", "http", undefined],
    ["off", "https", undefined],
    ["off", "proxied", undefined],
    ["fly", "http", "fly-client-ip"],
    // fly.io passes TLS through untouched: nothing it adds can be inside.
    ["fly", "https", undefined],
    ["fly", "proxied", undefined],
    ["xff", "http", "x-forwarded-for"],
    ["xff", "https", "x-forwarded-for"],
    // Behind the PROXY front the header already named the client.
    ["xff", "proxied", undefined],
  ];
  for (const [trustProxy, listener, header] of table) {
    test(`${trustProxy} on ${listener}: ${header ?? "none"}`, () => {
      expect(trustedHeader(trustProxy, listener)).toBe(header);
    });
  }
});

describe("the client address", () => {
  const headers = { "fly-client-ip": " 203.0.113.9 ", "x-forwarded-for": "198.51.100.1, 192.0.2.44" };

  test("fly: Fly-Client-IP on the HTTP listener, the peer elsewhere", () => {
    const clientIp = createClientIp("fly");
    expect(clientIp(request(headers), peer("http"))).toBe("203.0.113.9");
    expect(clientIp(request(headers), peer("https"))).toBe("10.1.2.3");
    expect(clientIp(request(headers), peer("proxied", "2600:1f18::b"))).toBe("2600:1f18::b");
  });

  test("xff: the last X-Forwarded-For entry, except behind the PROXY front", () => {
    const clientIp = createClientIp("xff");
    expect(clientIp(request(headers), peer("http"))).toBe("192.0.2.44");
    expect(clientIp(request(headers), peer("https"))).toBe("192.0.2.44");
    expect(clientIp(request(headers), peer("proxied"))).toBe("10.1.2.3");
  });

  test("a header that is not an address is ignored; no peer is 0.0.0.0", () => {
    const clientIp = createClientIp("fly");
    expect(clientIp(request({ "fly-client-ip": "not-an-ip" }), peer("http"))).toBe("10.1.2.3");
    expect(clientIp(request({}), peer("proxied", null))).toBe("0.0.0.0");
  });
});

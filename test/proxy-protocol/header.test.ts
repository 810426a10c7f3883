import { describe, expect, test } from "bun:test";
import { isIP, isIPv4, isIPv6 } from "node:net";
import fc from "fast-check";
import { canonicalIPv6, type ProxyHeader, readProxyHeader } from "../../src/http/proxy-protocol/header";
import { ipv6Bytes, v1Header, v2Header, v2Inet, v2Inet6 } from "../support/proxy-protocol";

const text = (value: string) => new TextEncoder().encode(value);
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]));
const complete = (length: number, address: string | undefined): ProxyHeader => ({
  status: "complete",
  length,
  address,
});

const IPV4_A = [203, 0, 113, 7];
const IPV4_B = [10, 0, 0, 1];
const IPV6_A = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42];

describe("PROXY v1", () => {
  test("TCP4 and TCP6 give the source address; the length stops at the CRLF", () => {
    const tcp4 = v1Header("TCP4", "203.0.113.7", "10.0.0.1");
    expect(readProxyHeader("v1", text(`${tcp4}\x16\x03\x01`))).toEqual(complete(tcp4.length, "203.0.113.7"));
    const tcp6 = v1Header("TCP6", "2001:DB8:0:0::42", "::1");
    expect(readProxyHeader("v1", text(tcp6))).toEqual(complete(tcp6.length, "2001:db8::42"));
  });

  test("UNKNOWN leaves the address to the connection's own peer", () => {
    expect(readProxyHeader("v1", text("PROXY UNKNOWN\r\n"))).toEqual(complete(15, undefined));
    expect(readProxyHeader("v1", text("PROXY UNKNOWN ffff::1 ::1 1 2\r\n"))).toEqual(complete(31, undefined));
  });

  test("an IPv4-mapped TCP6 source is written as IPv4", () => {
    const header = v1Header("TCP6", "::ffff:198.51.100.4", "::1");
    expect(readProxyHeader("v1", text(header))).toEqual(complete(header.length, "198.51.100.4"));
  });

  test("a prefix of the header is incomplete", () => {
    const header = v1Header("TCP4", "203.0.113.7", "10.0.0.1");
    for (let end = 0; end < header.length; end++) {
      expect(readProxyHeader("v1", text(header.slice(0, end)))).toEqual({ status: "incomplete" });
    }
  });

  const bad: Array<[string, string]> = [
    ["a TLS ClientHello with no header", "\x16\x03\x01\x02\x00\x01\x00"],
    ["an HTTP request with no header", "GET / HTTP/1.1\r\n"],
    ["a lower-case signature", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"],
    ["an unknown family", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"],
    ["a missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"],
    ["an extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"],
    ["a port over 65535", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"],
    ["a port with a leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"],
    ["an IPv4 address with a leading zero", "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"],
    ["an IPv6 address under TCP4", "PROXY TCP4 ::1 5.6.7.8 1 2\r\n"],
    ["an IPv4 address under TCP6", "PROXY TCP6 1.2.3.4 ::1 1 2\r\n"],
    ["an IPv6 zone id", "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"],
    ["a double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"],
    ["a CR without LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"],
    ["a bare LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"],
    ["a control byte", "PROXY TCP4 1.2.3.4\x00 5.6.7.8 1 2\r\n"],
    ["no CRLF within 107 bytes", `PROXY UNKNOWN ${"x".repeat(100)}`],
    ["a v2 header", String.fromCharCode(...v2Inet(IPV4_A, IPV4_B))],
  ];
  for (const [name, input] of bad) {
    test(`invalid: ${name}`, () => {
      expect(
        readProxyHeader(
          "v1",
          Uint8Array.from(input, (c) => c.charCodeAt(0)),
        ).status,
      ).toBe("invalid");
    });
  }

  test("107 bytes is the longest header", () => {
    const longest = `PROXY UNKNOWN ${"x".repeat(107 - 16)}\r\n`;
    expect(longest.length).toBe(107);
    expect(readProxyHeader("v1", text(longest))).toEqual(complete(107, undefined));
    expect(readProxyHeader("v1", text(`PROXY UNKNOWN ${"x".repeat(107 - 15)}\r\n`)).status).toBe("invalid");
  });
});

describe("PROXY v2", () => {
  test("INET gives the IPv4 source; TLVs are part of the header", () => {
    const header = v2Header({
      addresses: [...IPV4_A, ...IPV4_B, 0xc8, 0x22, 0x01, 0xbb],
      tlvs: [0x04, 0x00, 0x01, 0x7f],
    });
    expect(readProxyHeader("v2", concat(header, Uint8Array.of(0x16, 0x03)))).toEqual(
      complete(header.length, "203.0.113.7"),
    );
    expect(header.length).toBe(16 + 12 + 4);
  });

  test("INET6 gives the IPv6 source in canonical text, IPv4-mapped as IPv4", () => {
    expect(readProxyHeader("v2", v2Inet6(IPV6_A, IPV6_A))).toEqual(complete(52, "2001:db8::42"));
    const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 4];
    expect(readProxyHeader("v2", v2Inet6(mapped, IPV6_A))).toEqual(complete(52, "198.51.100.4"));
  });

  test("LOCAL, UNSPEC and UNIX leave the address to the connection's own peer", () => {
    expect(readProxyHeader("v2", v2Header({ command: 0, family: 0, transport: 0 }))).toEqual(
      complete(16, undefined),
    );
    expect(
      readProxyHeader("v2", v2Header({ command: 0, addresses: [...IPV4_A, ...IPV4_B, 0, 1, 0, 2] })),
    ).toEqual(complete(28, undefined));
    expect(readProxyHeader("v2", v2Header({ family: 0, transport: 0 }))).toEqual(complete(16, undefined));
    expect(readProxyHeader("v2", v2Header({ family: 3, addresses: new Array(216).fill(0) }))).toEqual(
      complete(232, undefined),
    );
  });

  test("a prefix of the header is incomplete", () => {
    const header = v2Inet6(IPV6_A, IPV6_A);
    for (let end = 0; end < header.length; end++) {
      expect(readProxyHeader("v2", header.subarray(0, end))).toEqual({ status: "incomplete" });
    }
  });

  const bad: Array<[string, Uint8Array]> = [
    ["a TLS ClientHello with no header", Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00)],
    ["a v1 header", text(v1Header("TCP4", "203.0.113.7", "10.0.0.1"))],
    ["version 1 in the version nibble", v2Header({ version: 1, addresses: new Array(12).fill(0) })],
    ["version 3 in the version nibble", v2Header({ version: 3, addresses: new Array(12).fill(0) })],
    ["command 2", v2Header({ command: 2, addresses: new Array(12).fill(0) })],
    ["family 4", v2Header({ family: 4, addresses: new Array(12).fill(0) })],
    ["transport 3", v2Header({ transport: 3, addresses: new Array(12).fill(0) })],
    ["INET with too short a length", v2Header({ family: 1, addresses: new Array(8).fill(0) })],
    ["INET6 with too short a length", v2Header({ family: 2, addresses: new Array(24).fill(0) })],
    ["a broken signature", Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x55)],
  ];
  for (const [name, input] of bad) {
    test(`invalid: ${name}`, () => {
      expect(readProxyHeader("v2", input).status).toBe("invalid");
    });
  }
});

describe("canonicalIPv6", () => {
  test("lower case, longest zero run compressed, IPv4-mapped as IPv4", () => {
    expect(canonicalIPv6("2001:0DB8:0000:0000:0001:0000:0000:0001")).toBe("2001:db8::1:0:0:1");
    expect(canonicalIPv6("0:0:0:0:0:0:0:1")).toBe("::1");
    expect(canonicalIPv6("1:0:0:1:0:0:0:1")).toBe("1:0:0:1::1");
    expect(canonicalIPv6("1:0:1:1:1:1:1:1")).toBe("1:0:1:1:1:1:1:1");
    expect(canonicalIPv6("0:0:0:0:0:0:0:0")).toBe("::");
    expect(canonicalIPv6("1:0:0:0:0:0:0:0")).toBe("1::");
    expect(canonicalIPv6("::0:0:0:0:1.2.3.4")).toBe("::102:304");
    expect(canonicalIPv6("fe80::1%eth0")).toBeUndefined();
    expect(canonicalIPv6("::ffff:c633:6404")).toBe("198.51.100.4");
    expect(canonicalIPv6("not an address")).toBeUndefined();
  });
});

// Fuzzing: the parser sees every connection's first bytes, so no input may make it throw, and
// whatever it accepts must be a real header with a real address.
const byte = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.array(byte, { minLength: 4, maxLength: 4 });
const ipv6 = fc.array(byte, { minLength: 16, maxLength: 16 });
const portNumber = fc.integer({ min: 0, max: 65535 });
const payload = fc.uint8Array({ maxLength: 64 });
const RUNS = { numRuns: 2000, seed: 6 };

/** An address as 16 bytes; an IPv4 address as the IPv4-mapped IPv6 address it stands for. */
function asIPv6Bytes(address: string): number[] {
  if (isIPv4(address)) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...address.split(".").map(Number)];
  expect(isIPv6(address)).toBe(true);
  return ipv6Bytes(address);
}

function sane(result: ProxyHeader, input: Uint8Array): boolean {
  if (result.status !== "complete") return true;
  return result.length <= input.length && (result.address === undefined || isIP(result.address) !== 0);
}

describe("fuzzing", () => {
  test("any bytes: no throw, and anything accepted is sane", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (input) => {
        for (const version of ["v1", "v2"] as const)
          expect(sane(readProxyHeader(version, input), input)).toBe(true);
      }),
      RUNS,
    );
  });

  test("bytes after a valid signature: no throw, and anything accepted is sane", () => {
    const v2Prefix = v2Header({}).subarray(0, 12);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 120 }), (tail, line) => {
        const v2 = concat(v2Prefix, tail);
        expect(sane(readProxyHeader("v2", v2), v2)).toBe(true);
        const v1 = text(`PROXY ${line}`);
        expect(sane(readProxyHeader("v1", v1), v1)).toBe(true);
      }),
      RUNS,
    );
  });

  test("v2 INET and INET6 headers with any TLVs and payload give their source address", () => {
    fc.assert(
      fc.property(
        fc.oneof(ipv4, ipv6),
        portNumber,
        fc.array(byte, { maxLength: 40 }),
        payload,
        (source, sourcePort, tlvs, rest) => {
          const inet = source.length === 4;
          const addresses = [...source, ...source, sourcePort >> 8, sourcePort & 0xff, 1, 187];
          const header = v2Header({ family: inet ? 1 : 2, addresses, tlvs });
          const result = readProxyHeader("v2", concat(header, rest));
          expect(result.status).toBe("complete");
          if (result.status !== "complete") return;
          expect(result.length).toBe(header.length);
          if (inet) expect(result.address).toBe(source.join("."));
          else expect(asIPv6Bytes(result.address as string)).toEqual(source);
          // Every shorter prefix is incomplete: the front waits for the rest.
          for (const end of [0, 12, 15, 16, header.length - 1]) {
            if (end < header.length)
              expect(readProxyHeader("v2", header.subarray(0, end)).status).toBe("incomplete");
          }
        },
      ),
      RUNS,
    );
  });

  test("v1 TCP4 and TCP6 headers give their source address", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.ipV6()),
        portNumber,
        portNumber,
        payload,
        (source, from, to, rest) => {
          const family = isIPv6(source) ? "TCP6" : "TCP4";
          const header = v1Header(family, source, family === "TCP6" ? "::1" : "127.0.0.1", [from, to]);
          const result = readProxyHeader("v1", concat(text(header), rest));
          expect(result).toMatchObject({ status: "complete", length: header.length });
          if (result.status !== "complete") return;
          if (family === "TCP4") expect(result.address).toBe(source);
          else expect(asIPv6Bytes(result.address as string)).toEqual(ipv6Bytes(source));
        },
      ),
      RUNS,
    );
  });
});

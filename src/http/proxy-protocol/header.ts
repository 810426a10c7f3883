import { isIPv4, isIPv6 } from "node:net";
import type { ProxyProtocol } from "../../config";

/**
 * The PROXY protocol header a proxy sends before the client's bytes
 * (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt), versions 1 (text) and 2 (binary).
 */
export type ProxyHeader =
  /** More bytes are needed to decide. */
  | { status: "incomplete" }
  | { status: "invalid"; reason: string }
  /**
   * `length` bytes are the header; what follows is the client's. `address` is the client's
   * address, or undefined when the proxy names none (v1 UNKNOWN, v2 LOCAL or a non-IP family):
   * then the spec says the connection's own peer counts.
   */
  | { status: "complete"; length: number; address: string | undefined };

type Version = Exclude<ProxyProtocol, "off">;

const INCOMPLETE: ProxyHeader = { status: "incomplete" };
const invalid = (reason: string): ProxyHeader => ({ status: "invalid", reason });

/** Reads the header of the given version at the start of `bytes` (all that arrived so far). */
export function readProxyHeader(version: Version, bytes: Uint8Array): ProxyHeader {
  return version === "v1" ? readV1(bytes) : readV2(bytes);
}

// Version 1: "PROXY TCP4 <src> <dst> <srcport> <dstport>\r\n", at most 107 bytes, printable ASCII.
const V1_MAX_BYTES = 107;
const V1_PREFIX = "PROXY ";
const CR = 0x0d;
const LF = 0x0a;
const PORT = /^(0|[1-9][0-9]{0,4})$/;

function readV1(bytes: Uint8Array): ProxyHeader {
  // The CRLF must end by byte 107: the CR is at index 105 at the latest.
  const lastCr = V1_MAX_BYTES - 2;
  const limit = Math.min(bytes.length, lastCr + 1);
  for (let i = 0; i < limit; i++) {
    const byte = bytes[i] as number;
    if (i < V1_PREFIX.length) {
      if (byte !== V1_PREFIX.charCodeAt(i)) return invalid("no PROXY v1 signature");
      continue;
    }
    if (byte === CR) {
      if (i + 1 === bytes.length) return INCOMPLETE;
      if (bytes[i + 1] !== LF) return invalid("CR without LF in the PROXY v1 line");
      return parseV1Line(String.fromCharCode(...bytes.subarray(0, i)), i + 2);
    }
    if (byte < 0x20 || byte > 0x7e) return invalid("a byte that is not printable ASCII in the PROXY v1 line");
  }
  return bytes.length > lastCr ? invalid("no CRLF within 107 bytes") : INCOMPLETE;
}

function parseV1Line(line: string, length: number): ProxyHeader {
  const fields = line.split(" ");
  const family = fields[1];
  // The spec: after UNKNOWN, anything up to the CRLF is ignored and the real peer counts.
  if (family === "UNKNOWN") return { status: "complete", length, address: undefined };
  if (family !== "TCP4" && family !== "TCP6")
    return invalid(`unknown PROXY v1 family ${JSON.stringify(family)}`);
  if (fields.length !== 6) return invalid("a PROXY v1 line needs source, destination and both ports");
  const [, , source, destination, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const isAddress = family === "TCP4" ? isIPv4 : isIPv6;
  if (!isAddress(source) || !isAddress(destination)) return invalid(`addresses that are not ${family}`);
  if (![sourcePort, destinationPort].every((port) => PORT.test(port) && Number(port) <= 65535)) {
    return invalid("a port that is not 0-65535");
  }
  const address = family === "TCP4" ? source : canonicalIPv6(source);
  return address === undefined
    ? invalid("an IPv6 address that does not parse")
    : { status: "complete", length, address };
}

// Version 2: a 12-byte signature, version/command, family/transport, a 16-bit length, then the
// addresses and optional TLVs (skipped: the length covers them).
const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const V2_FIXED = 16;
const COMMAND_LOCAL = 0x0;
const COMMAND_PROXY = 0x1;
const FAMILY_INET = 0x1;
const FAMILY_INET6 = 0x2;
const LAST_FAMILY = 0x3;
const LAST_TRANSPORT = 0x2;

function readV2(bytes: Uint8Array): ProxyHeader {
  const signatureBytes = Math.min(bytes.length, V2_SIGNATURE.length);
  for (let i = 0; i < signatureBytes; i++) {
    if (bytes[i] !== V2_SIGNATURE[i]) return invalid("no PROXY v2 signature");
  }
  if (bytes.length < V2_FIXED) return INCOMPLETE;
  const versionCommand = bytes[12] as number;
  const familyTransport = bytes[13] as number;
  if (versionCommand >> 4 !== 2) return invalid("PROXY v2 version nibble is not 2");
  const command = versionCommand & 0x0f;
  if (command !== COMMAND_LOCAL && command !== COMMAND_PROXY) return invalid("unknown PROXY v2 command");
  const family = familyTransport >> 4;
  if (family > LAST_FAMILY || (familyTransport & 0x0f) > LAST_TRANSPORT) {
    return invalid("unknown PROXY v2 address family or transport");
  }
  const length = V2_FIXED + (((bytes[14] as number) << 8) | (bytes[15] as number));
  if (bytes.length < length) return INCOMPLETE;
  // LOCAL: the proxy's own connection (a health check); the spec says use the real peer.
  if (command === COMMAND_LOCAL) return { status: "complete", length, address: undefined };
  if (family === FAMILY_INET) {
    if (length < V2_FIXED + 12) return invalid("PROXY v2 length too short for IPv4 addresses");
    return { status: "complete", length, address: bytes.subarray(16, 20).join(".") };
  }
  if (family === FAMILY_INET6) {
    if (length < V2_FIXED + 36) return invalid("PROXY v2 length too short for IPv6 addresses");
    const groups: number[] = [];
    for (let i = 16; i < 32; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
    return { status: "complete", length, address: formatIPv6(groups) };
  }
  return { status: "complete", length, address: undefined };
}

/** The eight 16-bit groups of an IPv6 address in text ("::" and an IPv4 tail allowed), or undefined. */
function ipv6Groups(text: string): number[] | undefined {
  if (!isIPv6(text) || text.includes("%")) return undefined;
  let body = text;
  const tail: number[] = [];
  const lastColon = body.lastIndexOf(":");
  if (body.includes(".", lastColon)) {
    const [a, b, c, d] = body
      .slice(lastColon + 1)
      .split(".")
      .map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    body = body.endsWith("::", lastColon + 1) ? body.slice(0, lastColon + 1) : body.slice(0, lastColon);
  }
  const [head = "", rest] = body.split("::");
  const groups = (part: string) =>
    part === "" ? [] : part.split(":").map((group) => Number.parseInt(group, 16));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const zeros = new Array<number>(8 - left.length - right.length - tail.length).fill(0);
  return [...left, ...zeros, ...right, ...tail];
}

/**
 * One text per IPv6 address (RFC 5952: lower case, the first longest run of two or more zero
 * groups as "::"), so that one client gives one fingerprint key; an IPv4-mapped address
 * (::ffff:a.b.c.d) is written as the IPv4 address it is.
 */
function formatIPv6(groups: number[]): string {
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const high = groups[6] as number;
    const low = groups[7] as number;
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; ) {
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end === start ? start + 1 : end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** An IPv6 address in text, in its one canonical form (see formatIPv6); undefined when it does not parse. */
export function canonicalIPv6(text: string): string | undefined {
  const groups = ipv6Groups(text);
  return groups === undefined ? undefined : formatIPv6(groups);
}

import net from "node:net";
import tls from "node:tls";

/**
 * PROXY protocol headers as a proxy writes them, for the tests: written from the spec
 * independently of the parser under test.
 */

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

export function v1Header(
  family: "TCP4" | "TCP6",
  source: string,
  destination: string,
  ports = [51234, 443],
): string {
  return `PROXY ${family} ${source} ${destination} ${ports[0]} ${ports[1]}\r\n`;
}

export interface V2Options {
  command?: number;
  /** High nibble of byte 14: 1 INET, 2 INET6, 0 UNSPEC, 3 UNIX. */
  family?: number;
  transport?: number;
  /** The address block (both addresses and ports). */
  addresses?: number[];
  /** Extra bytes counted in the length: TLVs. */
  tlvs?: number[];
  version?: number;
}

export function v2Header({
  command = 1,
  family = 1,
  transport = 1,
  addresses = [],
  tlvs = [],
  version = 2,
}: V2Options): Uint8Array {
  const length = addresses.length + tlvs.length;
  return Uint8Array.from([
    ...SIGNATURE,
    (version << 4) | command,
    (family << 4) | transport,
    length >> 8,
    length & 0xff,
    ...addresses,
    ...tlvs,
  ]);
}

function port(value: number): number[] {
  return [value >> 8, value & 0xff];
}

export function v2Inet(source: number[], destination: number[], ports = [51234, 443]): Uint8Array {
  return v2Header({
    family: 1,
    addresses: [...source, ...destination, ...port(ports[0] as number), ...port(ports[1] as number)],
  });
}

export function v2Inet6(source: number[], destination: number[], ports = [51234, 443]): Uint8Array {
  return v2Header({
    family: 2,
    addresses: [...source, ...destination, ...port(ports[0] as number), ...port(ports[1] as number)],
  });
}

/** The 16 bytes of an IPv6 address in text (with "::" and an embedded IPv4 tail), for comparing. */
export function ipv6Bytes(text: string): number[] {
  let body = text;
  const tail: number[] = [];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(body);
  if (dotted) {
    tail.push(...dotted.slice(1).map(Number));
    body = `${body.slice(0, dotted.index)}0:0`;
  }
  const [head = "", rest] = body.split("::");
  const groups = (part: string) =>
    part === "" ? [] : part.split(":").map((group) => Number.parseInt(group, 16));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  const bytes = all.flatMap((group) => [group >> 8, group & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

export interface RawResponse {
  status: number;
  text: string;
}

/**
 * One HTTPS request the way fly.io's proxy_proto handler delivers it: a TCP connection to the
 * front, the PROXY header, then TLS (trusting only `ca`) and the request. The header may be sent
 * in pieces, with a pause between them; the requests go one after the other on the connection.
 * Rejects when the connection closes before the TLS handshake.
 */
export async function proxiedRequest(
  port: number,
  header: Uint8Array | string,
  ca: string,
  requests: string[],
  { pieces = 1 }: { pieces?: number } = {},
): Promise<RawResponse[]> {
  const raw = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    raw.once("connect", resolve);
    raw.once("error", reject);
  });
  const bytes = typeof header === "string" ? new TextEncoder().encode(header) : header;
  const step = Math.ceil(bytes.length / pieces);
  for (let start = 0; start < bytes.length; start += step) {
    raw.write(bytes.subarray(start, start + step));
    if (pieces > 1) await Bun.sleep(20);
  }
  return requestsOver(raw, ca, requests);
}

/**
 * TLS (trusting only `ca`) over a connection that is already open, then the requests one after
 * the other. Rejects when the connection closes before the TLS handshake.
 */
export async function requestsOver(raw: net.Socket, ca: string, requests: string[]): Promise<RawResponse[]> {
  const secure = tls.connect({ socket: raw, ca, servername: "localhost" });
  let received = "";
  secure.on("data", (chunk) => {
    received += chunk;
  });
  const closed = new Promise<void>((resolve) => secure.once("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    secure.once("secureConnect", resolve);
    secure.once("error", reject);
    secure.once("close", () => reject(new Error("closed before the TLS handshake")));
  });
  secure.on("error", () => {});
  let open = true;
  void closed.then(() => {
    open = false;
  });
  // One request at a time: Bun 1.4.5 answers no pipelined request when the handler is async.
  for (const [index, request] of requests.entries()) {
    if (!open) break;
    secure.write(request);
    while (open && splitResponses(received).length <= index) await Bun.sleep(5);
  }
  await closed;
  return splitResponses(received);
}

function splitResponses(received: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = received;
  while (rest.startsWith("HTTP/1.1 ")) {
    const headEnd = rest.indexOf("\r\n\r\n");
    const head = rest.slice(0, headEnd);
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    const end = headEnd + 4 + length;
    responses.push({ status: Number(head.slice(9, 12)), text: rest.slice(0, end) });
    rest = rest.slice(end);
  }
  return responses;
}

/** A keep-alive GET, or the last one with `Connection: close`. */
export function get(path: string, headers: Record<string, string> = {}, close = true): string {
  const lines = Object.entries({ host: "localhost", ...headers, ...(close ? { connection: "close" } : {}) });
  return `GET ${path} HTTP/1.1\r\n${lines.map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n`;
}

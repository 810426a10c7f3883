import { connect, type Socket } from "node:net";

/**
 * HTTP/1.1 over a plain socket, for bytes that fetch refuses or rewrites (control and non-UTF-8
 * bytes, invalid percent-encoding, lying lengths) and for clients that are slow on purpose.
 */
export interface RawResponse {
  /** Undefined when the server closed without answering (or the time ran out first). */
  status: number | undefined;
  headers: Map<string, string>;
  body: Buffer;
  /** Everything the server sent. */
  raw: Buffer;
  /** When the first byte of the answer arrived, from the start. */
  answeredAfterMs: number | undefined;
  /** When the server closed the connection, from the start; undefined when it stayed open. */
  closedAfterMs: number | undefined;
}

export interface RawOptions {
  /** Give up (and close) after this long. */
  timeoutMs?: number;
  /**
   * Half-close after writing (default false). Bun closes a half-closed connection at once, so an
   * answer that needs an await (a click) never comes back on one.
   */
  end?: boolean;
  /** Written one after another, this far apart: a slow client. */
  intervalMs?: number;
  /**
   * Wait for the server to close the connection (default false: stop at the end of the first
   * whole answer, one with a Content-Length; an answer without one is read until the close).
   */
  untilClosed?: boolean;
}

/** Everything up to the empty line, as one Latin-1 string (header bytes are bytes). */
function parseHead(raw: Buffer): Pick<RawResponse, "status" | "headers" | "body"> {
  const end = raw.indexOf("\r\n\r\n");
  const head = raw.subarray(0, end === -1 ? raw.length : end).toString("latin1");
  const [statusLine = "", ...lines] = head.split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return {
    status: status === undefined ? undefined : Number(status),
    headers,
    body: end === -1 ? Buffer.alloc(0) : raw.subarray(end + 4),
  };
}

/** A whole answer: its head, and as many body bytes as its Content-Length says. */
function isComplete(raw: Buffer): boolean {
  const end = raw.indexOf("\r\n\r\n");
  if (end === -1) return false;
  const length = parseHead(raw).headers.get("content-length");
  return length !== undefined && raw.length - (end + 4) >= Number(length);
}

/** Sends these bytes on a fresh connection and collects the answer (see `untilClosed`). */
export function rawRequest(
  port: number,
  chunks: string | Uint8Array | Array<string | Uint8Array>,
  options: RawOptions = {},
): Promise<RawResponse> {
  const { timeoutMs = 5_000, end = false, intervalMs, untilClosed = false } = options;
  const parts = Array.isArray(chunks) ? chunks : [chunks];
  return new Promise((resolve) => {
    const started = performance.now();
    const received: Buffer[] = [];
    let answeredAfterMs: number | undefined;
    let finished = false;
    const socket: Socket = connect(port, "127.0.0.1");
    let pacer: ReturnType<typeof setInterval> | undefined;

    const finish = (closed: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      clearInterval(pacer);
      const raw = Buffer.concat(received);
      resolve({
        ...parseHead(raw),
        raw,
        answeredAfterMs,
        closedAfterMs: closed ? performance.now() - started : undefined,
      });
      socket.destroy();
    };
    const deadline = setTimeout(() => finish(false), timeoutMs);

    socket.on("data", (data) => {
      answeredAfterMs ??= performance.now() - started;
      received.push(typeof data === "string" ? Buffer.from(data, "latin1") : data);
      if (!untilClosed && isComplete(Buffer.concat(received))) finish(false);
    });
    // A reset after the answer is still an answer; a reset before it is a close without one.
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("connect", () => {
      if (intervalMs === undefined) {
        for (const part of parts) socket.write(part);
        if (end) socket.end();
        return;
      }
      let next = 0;
      pacer = setInterval(() => {
        if (socket.destroyed) return;
        const part = parts[next++];
        if (part !== undefined) socket.write(part);
        else {
          clearInterval(pacer);
          if (end) socket.end();
        }
      }, intervalMs);
    });
  });
}

/** A GET as a browser would send it, with these headers (values as raw bytes where needed). */
export function rawGet(
  target: string | Uint8Array,
  headers: Array<[string, string | Uint8Array]> = [],
): Buffer {
  const parts: Buffer[] = [
    Buffer.from("GET "),
    Buffer.from(target),
    Buffer.from(" HTTP/1.1\r\nHost: clicks.test\r\n"),
  ];
  for (const [name, value] of headers)
    parts.push(Buffer.from(`${name}: `), Buffer.from(value), Buffer.from("\r\n"));
  parts.push(Buffer.from("Connection: close\r\n\r\n"));
  return Buffer.concat(parts);
}

import { isIP } from "node:net";
import type { TrustProxy } from "../config";

/**
 * Which listener a request came through, which decides what can vouch for the client address:
 * - `http`: plain HTTP, where fly.io's http handler (or a proxy of our own) sets headers;
 * - `https`: TLS terminated here; only a proxy of our own that re-encrypts can have set a header;
 * - `proxied`: TLS behind the PROXY front; the PROXY header already named the client.
 */
export type ListenerKind = "http" | "https" | "proxied";

/** What the click needs of the listener: its kind, and the peer address of a request. */
export interface PeerLookup {
  readonly listener: ListenerKind;
  requestIP(request: Request): { address: string } | null;
}

/** A Bun server as the app's environment: the socket's peer is the peer. */
export function listenerPeers(
  server: { requestIP(request: Request): { address: string } | null },
  listener: ListenerKind,
): PeerLookup {
  return { listener, requestIP: (request) => server.requestIP(request) };
}

const NO_ADDRESS = "0.0.0.0";

/** The header that can hold the client address on this listener, if any. */
export function trustedHeader(trustProxy: TrustProxy, listener: ListenerKind): string | undefined {
  if (trustProxy === "fly") return listener === "http" ? "fly-client-ip" : undefined;
  if (trustProxy === "xff") return listener === "proxied" ? undefined : "x-forwarded-for";
  return undefined;
}

function lastForwarded(header: string): string {
  const comma = header.lastIndexOf(",");
  return (comma === -1 ? header : header.slice(comma + 1)).trim();
}

/**
 * The client's address for the event: the peer as the listener knows it, unless TRUST_PROXY names
 * a header that our own proxy sets on that listener, and then only a value that parses as an IP address.
 */
export function createClientIp(trustProxy: TrustProxy) {
  return function clientIp(request: Request, peers: PeerLookup): string {
    const name = trustedHeader(trustProxy, peers.listener);
    if (name !== undefined) {
      const header = request.headers.get(name);
      const claimed =
        header === null ? "" : name === "x-forwarded-for" ? lastForwarded(header) : header.trim();
      if (isIP(claimed) !== 0) return claimed;
    }
    return peers.requestIP(request)?.address ?? NO_ADDRESS;
  };
}

export type ClientIp = ReturnType<typeof createClientIp>;

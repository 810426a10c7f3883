import { isIP } from "node:net";
import type { TrustProxy } from "../config";

/** What the click needs of the listener: Bun's Server has it; a proxy front can supply its own. */
export interface PeerLookup {
  requestIP(request: Request): { address: string } | null;
}

const NO_ADDRESS = "0.0.0.0";

function lastForwarded(header: string): string {
  const comma = header.lastIndexOf(",");
  return (comma === -1 ? header : header.slice(comma + 1)).trim();
}

/**
 * The client's address for the event: the socket's peer unless TRUST_PROXY names a header
 * that our own proxy sets, and then only a value that parses as an IP address.
 */
export function createClientIp(trustProxy: TrustProxy) {
  return function clientIp(request: Request, peers: PeerLookup): string {
    if (trustProxy !== "off") {
      const header =
        trustProxy === "fly" ? request.headers.get("fly-client-ip") : request.headers.get("x-forwarded-for");
      const claimed = header === null ? "" : trustProxy === "fly" ? header.trim() : lastForwarded(header);
      if (isIP(claimed) !== 0) return claimed;
    }
    return peers.requestIP(request)?.address ?? NO_ADDRESS;
  };
}

export type ClientIp = ReturnType<typeof createClientIp>;

import type { Socket, TCPSocketListener } from "bun";
import type { ProxyProtocol } from "../../config";
import type { Logger } from "../../logger";
import type { PeerLookup } from "../client-ip";
import { readProxyHeader } from "./header";

/**
 * The client address of every connection the front relayed to one TLS server, keyed by the relay
 * connection's local port: the port that server sees as the peer's.
 */
export class RelayClients {
  private readonly clients = new Map<number, { readonly clientAddress: string }>();
  private relays = 0;
  private drain: PromiseWithResolvers<void> | undefined;

  relayStarted(): void {
    this.relays += 1;
  }

  relayEnded(): void {
    this.relays -= 1;
    if (this.relays === 0) this.drain?.resolve();
  }

  /**
   * Resolves once no connection relayed to the server is left: only then can it stop without
   * cutting one. Stopping sooner would drop the connections still in its accept queue, and a
   * graceful stop resets those whose client is still in the TLS handshake (a slow phone's is
   * hundreds of milliseconds). Bun's idle timeout bounds how long they last.
   */
  drained(): Promise<void> {
    if (this.relays === 0) return Promise.resolve();
    this.drain ??= Promise.withResolvers<void>();
    return this.drain.promise;
  }

  remember(relayPort: number, relay: { readonly clientAddress: string }): void {
    this.clients.set(relayPort, relay);
  }

  /** Only the relay's own entry: a new connection may already have been given the port again. */
  forget(relayPort: number, relay: { readonly clientAddress: string }): void {
    if (this.clients.get(relayPort) === relay) this.clients.delete(relayPort);
  }

  /** The app's view of a request on that server: the client the PROXY header named. */
  peers(server: { requestIP(request: Request): { port: number } | null }): PeerLookup {
    return {
      listener: "proxied",
      requestIP: (request) => {
        const peer = server.requestIP(request);
        const address = peer === null ? undefined : this.clients.get(peer.port)?.clientAddress;
        // A connection that did not come through the front has no client address anyone vouched for.
        return address === undefined ? null : { address };
      },
    };
  }
}

/**
 * The TLS server on loopback that the front relays to. A renewed certificate gets a new target;
 * a connection stays with the target it began on.
 */
export interface RelayTarget {
  port: number;
  clients: RelayClients;
}

export interface ProxyFrontOptions {
  hostname: string;
  port: number;
  version: Exclude<ProxyProtocol, "off">;
  target: RelayTarget;
  logger: Logger;
  /** WORKERS=N: each worker's front binds the same port (SO_REUSEPORT). */
  reusePort?: boolean;
}

export interface ProxyFront {
  readonly port: number;
  /** New connections go to this target from now on. */
  relayTo(target: RelayTarget): void;
  /**
   * While not ready, the port is closed: a connection attempt is refused by the kernel, so that a
   * TCP health check fails. `true` listens again (on the same port). Idempotent; false when the
   * port could not be taken again (the next call tries again).
   */
  accepting(ready: boolean): boolean;
  /** Stops accepting for good; relayed connections go on until either side closes. */
  stopAccepting(): void;
  /** Closes whatever is still relayed. */
  closeAll(): void;
}

// Bun reads the header timeout in whole seconds, on a coarse clock (a few seconds late is fine).
const HEADER_TIMEOUT_SECONDS = 5;
// A click's request and response are a few KiB: this much waiting on one side is a stuck peer.
const MAX_PENDING_BYTES = 1 << 20;
const REJECTION_LOG_INTERVAL_MS = 10_000;

type Side = Socket<Relay>;

/** Bytes one side could not take yet, written on its next drain. */
class Pending {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private ending = false;

  /** Writes what the socket takes now and keeps the rest; false when too much is waiting. */
  send(socket: Side | undefined, data: Uint8Array): boolean {
    let rest = data;
    if (socket !== undefined && this.chunks.length === 0) {
      const written = socket.write(data);
      if (written < 0 || written === data.length) return true;
      rest = data.subarray(written);
    }
    // Copied: the buffer handed to a data handler is not ours to keep.
    this.chunks.push(new Uint8Array(rest));
    this.bytes += rest.length;
    return this.bytes <= MAX_PENDING_BYTES;
  }

  flush(socket: Side): void {
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0] as Uint8Array;
      const written = socket.write(chunk);
      if (written < 0) {
        this.chunks = [];
        this.bytes = 0;
        return;
      }
      this.bytes -= written;
      if (written < chunk.length) {
        this.chunks[0] = chunk.subarray(written);
        return;
      }
      this.chunks.shift();
    }
    if (this.ending) socket.end();
  }

  /** Ends the socket once everything waiting is written. */
  end(socket: Side | undefined): void {
    this.ending = true;
    if (socket !== undefined && this.chunks.length === 0) socket.end();
  }
}

/** One client connection: its header, then the bytes both ways between it and the TLS server. */
class Relay {
  private header: Uint8Array = new Uint8Array(0);
  private upstream: Side | undefined;
  private upstreamPort: number | undefined;
  private target: RelayTarget | undefined;
  clientAddress = "";
  private refused = false;
  private readonly toUpstream = new Pending();
  private readonly toClient = new Pending();

  constructor(
    private readonly client: Side,
    private readonly front: Front,
  ) {}

  fromClient(data: Uint8Array): void {
    if (this.refused) return;
    if (this.target === undefined) {
      this.readHeader(data);
      return;
    }
    if (!this.toUpstream.send(this.upstream, data)) this.abort();
  }

  private readHeader(data: Uint8Array): void {
    const bytes = this.header.length === 0 ? data : Buffer.concat([this.header, data]);
    const header = readProxyHeader(this.front.version, bytes);
    if (header.status === "incomplete") {
      this.header = new Uint8Array(bytes);
      return;
    }
    if (header.status === "invalid") {
      this.refused = true;
      this.front.rejected(header.reason);
      this.client.end();
      return;
    }
    this.header = new Uint8Array(0);
    this.client.timeout(0);
    this.clientAddress = header.address ?? this.client.remoteAddress;
    if (bytes.length > header.length) this.toUpstream.send(undefined, bytes.subarray(header.length));
    this.connectUpstream();
  }

  private connectUpstream(): void {
    const target = this.front.target;
    this.target = target;
    target.clients.relayStarted();
    Bun.connect<Relay>({
      hostname: "127.0.0.1",
      port: target.port,
      data: this,
      socket: upstreamHandlers,
    }).catch(() => this.upstreamUnreachable(target));
  }

  /** The TLS server was gone: if a renewal replaced it meanwhile, its successor takes the connection. */
  private upstreamUnreachable(target: RelayTarget): void {
    target.clients.relayEnded();
    if (target !== this.front.target) this.connectUpstream();
    else this.client.end();
  }

  upstreamOpened(upstream: Side): void {
    this.upstream = upstream;
    this.upstreamPort = upstream.localPort;
    this.target?.clients.remember(upstream.localPort, this);
    this.toUpstream.flush(upstream);
  }

  fromUpstream(data: Uint8Array): void {
    if (!this.toClient.send(this.client, data)) this.abort();
  }

  clientDrained(): void {
    this.toClient.flush(this.client);
  }

  upstreamDrained(): void {
    if (this.upstream !== undefined) this.toUpstream.flush(this.upstream);
  }

  clientClosed(): void {
    this.front.relays.delete(this);
    this.toUpstream.end(this.upstream);
  }

  /** Called on `error` and on `close`: the second call finds nothing left to do. */
  upstreamClosed(): void {
    if (this.upstreamPort !== undefined) {
      this.target?.clients.forget(this.upstreamPort, this);
      this.target?.clients.relayEnded();
      this.upstreamPort = undefined;
    }
    this.toClient.end(this.client);
  }

  /** No header in time. */
  giveUp(): void {
    this.client.end();
  }

  abort(): void {
    this.client.terminate();
    this.upstream?.terminate();
  }
}

const upstreamHandlers = {
  open: (socket: Side) => socket.data.upstreamOpened(socket),
  data: (socket: Side, data: Uint8Array) => socket.data.fromUpstream(data),
  drain: (socket: Side) => socket.data.upstreamDrained(),
  close: (socket: Side) => socket.data.upstreamClosed(),
  error: (socket: Side) => socket.data.upstreamClosed(),
};

class Front implements ProxyFront {
  readonly relays = new Set<Relay>();
  readonly version: ProxyFrontOptions["version"];
  target: RelayTarget;
  private listener: TCPSocketListener<Relay> | undefined;
  private readonly listenOptions: Bun.TCPSocketListenOptions<Relay> & { reusePort: boolean };
  readonly port: number;
  private stopped = false;
  private readonly logger: Logger;
  private rejections = 0;
  private lastRejectionLog = 0;

  constructor(options: ProxyFrontOptions) {
    this.version = options.version;
    this.target = options.target;
    this.logger = options.logger;
    // Bun.listen takes reusePort (Linux) though its option type does not name it.
    this.listenOptions = {
      hostname: options.hostname,
      port: options.port,
      reusePort: options.reusePort ?? false,
      socket: {
        open: (socket) => {
          socket.data = new Relay(socket, this);
          this.relays.add(socket.data);
          socket.timeout(HEADER_TIMEOUT_SECONDS);
        },
        data: (socket, data) => socket.data.fromClient(data),
        drain: (socket) => socket.data.clientDrained(),
        close: (socket) => socket.data.clientClosed(),
        timeout: (socket) => socket.data.giveUp(),
        error: (socket) => socket.data.clientClosed(),
      },
    };
    this.listener = Bun.listen<Relay>(this.listenOptions);
    // Listening again takes the port it got, even when it was asked for port 0.
    this.port = this.listener.port;
  }

  accepting(ready: boolean): boolean {
    if (this.stopped || ready === (this.listener !== undefined)) return true;
    if (!ready) {
      // Closes the listening socket: connections already accepted stay relayed.
      this.listener?.stop(false);
      this.listener = undefined;
      return true;
    }
    try {
      this.listener = Bun.listen<Relay>({ ...this.listenOptions, port: this.port });
      return true;
    } catch {
      return false;
    }
  }

  relayTo(target: RelayTarget): void {
    this.target = target;
  }

  /** A connection without a valid header is closed; the log says so at most every few seconds. */
  rejected(reason: string): void {
    this.rejections += 1;
    const now = Date.now();
    if (now - this.lastRejectionLog < REJECTION_LOG_INTERVAL_MS) return;
    this.logger.warn(
      { rejected: this.rejections, reason, expected: this.version },
      "connections without a valid PROXY header were closed",
    );
    this.rejections = 0;
    this.lastRejectionLog = now;
  }

  stopAccepting(): void {
    this.stopped = true;
    this.listener?.stop(false);
    this.listener = undefined;
  }

  closeAll(): void {
    for (const relay of this.relays) relay.abort();
    this.relays.clear();
  }
}

/**
 * The TCP front before the TLS listener when a proxy speaks the PROXY protocol (fly.io's
 * `proxy_proto` handler): reads and checks the header, then relays the rest of the connection to
 * the TLS server on loopback, which learns the client address through its RelayTarget.
 */
export function startProxyFront(options: ProxyFrontOptions): ProxyFront {
  return new Front(options);
}

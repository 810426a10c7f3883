import type { Server } from "bun";
import { track, untrack } from "./cleanup";

/**
 * What a path answers: a status (with a Location for redirects), a slow answer, or a 200 whose body
 * sends `stallAfterBytes` bytes and then nothing more, never ending.
 */
export type Behaviour =
  | { status: number; location?: string }
  | { hangMs: number }
  | { stallAfterBytes: number };

export interface SeenRequest {
  path: string;
  userAgent: string;
  atMs: number;
}

/**
 * A destination on loopback, as a store or landing page would be: each path answers as the test
 * says (200 when not told), and every request is recorded with its path, User-Agent and time.
 */
export class DestinationServer {
  readonly requests: SeenRequest[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  readonly server: Server<undefined>;
  private readonly handle = { kill: () => this.server.stop(true) };

  constructor(tls?: { cert: string; key: string }) {
    this.server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      ...(tls && { tls }),
      fetch: (request) => this.answer(request),
    });
    track(this.handle);
  }

  get port(): number {
    return this.server.port as number;
  }

  /** The URL of `path` here, over `host` (default 127.0.0.1). */
  url(path: string, host = "127.0.0.1"): string {
    return `${this.server.protocol}://${host}:${this.port}${path}`;
  }

  set(path: string, behaviour: Behaviour): void {
    this.behaviours.set(path, behaviour);
  }

  requestsTo(path: string): SeenRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  stop(): void {
    this.server.stop(true);
    untrack(this.handle);
  }

  private async answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = `${url.pathname}${url.search}`;
    this.requests.push({ path, userAgent: request.headers.get("user-agent") ?? "", atMs: Date.now() });
    const behaviour = this.behaviours.get(path) ?? { status: 200 };
    if ("hangMs" in behaviour) {
      await Bun.sleep(behaviour.hangMs);
      return new Response("late");
    }
    if ("stallAfterBytes" in behaviour) {
      const body = new Uint8Array(behaviour.stallAfterBytes);
      return new Response(
        new ReadableStream({
          start: (controller) => controller.enqueue(body),
          pull: () => new Promise(() => {}),
        }),
      );
    }
    const headers: Record<string, string> = behaviour.location ? { location: behaviour.location } : {};
    return new Response(behaviour.status >= 300 && behaviour.status < 400 ? null : "page", {
      status: behaviour.status,
      headers,
    });
  }
}

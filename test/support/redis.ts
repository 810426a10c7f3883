import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import Redis from "ioredis";
import { CLICK_QUEUE } from "../../src/clickstore/clickstore";
import { track, trackFolder, untrack } from "./cleanup";
import { freePort, waitFor } from "./ports";

export interface RedisServerOptions {
  password?: string;
  /**
   * Keep the list across a SIGKILL and restart (append-only file): Redis writes it before it replies,
   * so whatever it acknowledged is there after `stop()` and `start()`.
   */
  persistent?: boolean;
}

/** A real redis-server on a free loopback port, in a temporary folder; with a password if given one. */
export class RedisServer {
  readonly port = freePort();
  readonly url: string;
  private readonly dir = mkdtempSync(join(tmpdir(), "clicks-redis-"));
  private process: Subprocess | undefined;
  private reader: Redis | undefined;

  constructor(private readonly options: RedisServerOptions = {}) {
    const { password } = options;
    const credentials = password === undefined ? "" : `:${encodeURIComponent(password)}@`;
    this.url = `redis://${credentials}127.0.0.1:${this.port}`;
    trackFolder(this.dir);
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(options);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    this.process = Bun.spawn(
      [
        "redis-server",
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--save",
        "",
        "--appendonly",
        this.options.persistent ? "yes" : "no",
        "--appendfsync",
        "no",
        ...(this.options.password === undefined ? [] : ["--requirepass", this.options.password]),
      ],
      { stdout: "ignore", stderr: "inherit" },
    );
    track(this.process);
    await waitFor(`redis on ${this.port}`, async () => (await this.ping()) || undefined);
  }

  /** SIGKILL and wait: the node is gone, as in a crash. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = undefined;
    child.kill("SIGKILL");
    await child.exited;
    untrack(child);
    this.reader?.disconnect();
    this.reader = undefined;
  }

  /** SIGSTOP: the node accepts connections but never answers. */
  pause(): void {
    this.process?.kill("SIGSTOP");
  }

  resume(): void {
    this.process?.kill("SIGCONT");
  }

  private async ping(): Promise<boolean> {
    const probe = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on("error", () => {});
    try {
      await probe.connect();
      return (await probe.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }

  client(): Redis {
    if (!this.reader) {
      this.reader = new Redis(this.url, { maxRetriesPerRequest: 1 });
      this.reader.on("error", () => {});
    }
    return this.reader;
  }

  /** Every event on the click queue, oldest first. */
  events(): Promise<string[]> {
    return this.client().lrange(CLICK_QUEUE, 0, -1);
  }

  async clear(): Promise<void> {
    await this.client().del(CLICK_QUEUE);
  }
}

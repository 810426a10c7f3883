import { mkdirSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { dirname } from "node:path";
import type { NodeMetrics } from "../metrics/metrics";
import type { Clickstore, ClickstoreHealth, PushOutcome } from "./clickstore";

/** The embedded default for local development: one event per line in a file, same format as Redis gets. */
export class FileClickstore implements Clickstore {
  readonly description: string;
  private handle: Promise<FileHandle> | undefined;

  constructor(
    private readonly path: string,
    private readonly metrics: NodeMetrics,
  ) {
    this.description = `file: ${path}`;
  }

  async push(event: string): Promise<PushOutcome> {
    const started = performance.now();
    try {
      // O_APPEND keeps concurrent single-line writes whole.
      const handle = await this.open();
      await handle.write(`${event}\n`);
    } catch (error) {
      this.metrics.recordPush("error", started);
      throw error;
    }
    this.metrics.recordPush("ok", started);
    return "stored";
  }

  async health(): Promise<ClickstoreHealth> {
    let acceptsClicks = true;
    try {
      await this.open();
    } catch {
      acceptsClicks = false;
    }
    return {
      acceptsClicks,
      store: this.description,
      nodes: [],
      spool: undefined,
      dropped: 0,
      retriedAfterTimeout: 0,
    };
  }

  async ready(): Promise<void> {
    await this.open();
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle).close();
  }

  private open(): Promise<FileHandle> {
    if (!this.handle) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.handle = open(this.path, "a");
    }
    return this.handle;
  }
}

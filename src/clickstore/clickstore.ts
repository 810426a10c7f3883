import type { BreakerState } from "./breaker";

/** The Redis list the kafkastore drains. */
export const CLICK_QUEUE = "click_queue";

/**
 * What became of a click's event; the redirect goes out in every case.
 * - stored: a clickstore (Redis, or the embedded file) acknowledged it.
 * - spooled: no node took it; it is fsynced in the local spool and will be moved to Redis.
 * - dropped: no node took it and the spool could not either; the store logged the event loudly and counted it.
 */
export type PushOutcome = "stored" | "spooled" | "dropped";

export interface NodeHealth {
  /** The node's URL without credentials. */
  name: string;
  breaker: BreakerState;
  /** The connection's state as ioredis reports it (ready, connect, reconnecting, …). */
  connection: string;
  answersPing: boolean;
}

export interface SpoolHealth {
  dir: string;
  /** Events waiting to be moved to Redis. */
  events: number;
  /** Bytes the spool's files take on disk, bounded by maxBytes. */
  bytes: number;
  maxBytes: number;
  acceptsClicks: boolean;
}

export interface ClickstoreHealth {
  /** False only when nothing can take a click right now: /check answers 503. */
  acceptsClicks: boolean;
  store: string;
  nodes: NodeHealth[];
  spool: SpoolHealth | undefined;
  /** Clicks redirected although their event could be stored nowhere, since start. */
  dropped: number;
  /** Pushes retried elsewhere after a failure that left them possibly applied (the duplicate window), since start. */
  retriedAfterTimeout: number;
}

/** Where click events go. `push` resolves once the event is stored or spooled: a redirected click is a kept click. */
export interface Clickstore {
  push(event: string): Promise<PushOutcome>;
  health(): Promise<ClickstoreHealth>;
  /** Waits until the stores are connected (bounded), so the first clicks do not fail for want of a connection. */
  ready(timeoutMs: number): Promise<void>;
  /** Lets pushes in flight finish, flushes what is pending, then closes every connection and file. */
  close(): Promise<void>;
  /** For the start log: where events go, without credentials. */
  readonly description: string;
}

/** A URL with its password replaced, fit for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable url)";
  }
}

/** A node's name in metrics: host, port and database, never credentials. */
export function nodeLabel(url: string): string {
  try {
    const parsed = new URL(url);
    const database = parsed.pathname.replace(/^\/+/, "");
    return database === "" ? parsed.host : `${parsed.host}/${database}`;
  } catch {
    return "(unparseable url)";
  }
}

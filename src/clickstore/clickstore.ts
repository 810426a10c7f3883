/** The Redis list the kafkastore drains. */
export const CLICK_QUEUE = "click_queue";

/** Where click events go. `push` resolves only once the event is stored: a redirected click is a stored click. */
export interface Clickstore {
  push(event: string): Promise<void>;
  /** True when every configured store answers. */
  healthy(): Promise<boolean>;
  /** Waits until the stores are connected (bounded), so the first clicks do not fail for want of a connection. */
  ready(timeoutMs: number): Promise<void>;
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

/**
 * Groups the events pushed during one turn of the event loop into one command. With many clicks
 * in flight, one `RPUSH key e1 … eN` costs the service and Redis far less than N RPUSHes: even
 * auto-pipelined, ioredis builds a command, a promise and a trace per call, and Redis parses and
 * answers each. RPUSH of several values is atomic and keeps their order, so each push still
 * resolves only once Redis has stored its event (or rejects with the command that carried it).
 */

interface Batch {
  events: string[];
  done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export class PushBatcher {
  private open: Batch | undefined;
  private scheduled = false;

  /**
   * @param send stores the events, in order, all or none (e.g. one multi-value RPUSH).
   * @param maxEvents a batch this full is sent at once, without waiting for the loop turn to end.
   */
  constructor(
    private readonly send: (events: string[]) => Promise<unknown>,
    private readonly maxEvents = 256,
  ) {}

  push(event: string): Promise<void> {
    let batch = this.open;
    if (batch === undefined) {
      batch = this.startBatch();
      this.open = batch;
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate, not a microtask: Bun drains microtasks after each request's callback, so
        // only the end of the loop turn sees the clicks that arrived together.
        setImmediate(this.flushScheduled);
      }
    }
    batch.events.push(event);
    const done = batch.done;
    if (batch.events.length >= this.maxEvents) this.flush();
    return done;
  }

  /** Sends the open batch now (before closing the connection, for instance). */
  flush(): void {
    const batch = this.open;
    if (batch === undefined) return;
    this.open = undefined;
    let sending: Promise<unknown>;
    try {
      sending = this.send(batch.events);
    } catch (error) {
      batch.reject(error);
      return;
    }
    sending.then(batch.resolve, batch.reject);
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private startBatch(): Batch {
    let resolve: () => void = () => {};
    let reject: (error: unknown) => void = () => {};
    const done = new Promise<void>((resolveDone, rejectDone) => {
      resolve = resolveDone;
      reject = rejectDone;
    });
    return { events: [], done, resolve, reject };
  }
}

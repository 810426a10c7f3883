import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { takeFileLock } from "../file-lock";
import type { Logger } from "../logger";

/**
 * The durable local spool: where a click's event goes when no Redis node takes it.
 *
 * On disk, in `dir`:
 * - segment files `000000000001.spool`, `000000000002.spool`, …: events appended one per line
 *   (an event never contains a line break), oldest segment first. Only the newest is written to.
 * - `checkpoint`: `<segment number> <byte offset>`, where the oldest event not yet acknowledged by
 *   Redis starts. Replaced atomically (written to `checkpoint.tmp`, fsynced, renamed).
 * - `lock`: held (flock) by the process that owns the spool, which writes its pid into it.
 * A segment is deleted once every event in it is acknowledged; its directory entry is fsynced when
 * it is created, so that an fsynced event is found after a crash.
 *
 * Appends are group-committed: the events that arrive while a write+fsync is in progress are written
 * and fsynced together by the next one, so an append waits for at most the fsync in progress and its own,
 * with no added delay; a burst shares one fsync.
 */
export interface SpoolOptions {
  dir: string;
  /** The bound on the segment files' total size; an event that does not fit is refused. */
  maxBytes: number;
  logger: Logger;
}

/** Events read from the spool, oldest first; `acknowledge` it once Redis has them. */
export interface SpoolBatch {
  readonly events: string[];
  readonly segment: number;
  /** The offset just past the batch's last event. */
  readonly end: number;
}

interface Segment {
  number: number;
  path: string;
  /** Bytes of whole, fsynced events; reading stops here. */
  size: number;
  /** What the file adds to the spool's size. */
  diskBytes: number;
}

const SEGMENT_FILE = /^(\d{12})\.spool$/;
const CHECKPOINT_FILE = "checkpoint";
const NEWLINE = 0x0a;
const READ_BYTES = 256 * 1024;
/** Below this much free room the spool reports that it cannot take clicks (an event is ~1 KiB). */
const MIN_FREE_BYTES = 8 * 1024;

function segmentPath(dir: string, number: number): string {
  return join(dir, `${String(number).padStart(12, "0")}.spool`);
}

/** Segments are a fraction of the bound, so that a drained one frees room soon. */
function segmentBytesFor(maxBytes: number): number {
  return Math.min(64 * 1024 * 1024, Math.max(4 * 1024, Math.floor(maxBytes / 8)));
}

async function countLines(path: string, from: number): Promise<number> {
  let lines = 0;
  for await (const chunk of Bun.file(path).slice(from).stream()) {
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) lines += 1;
  }
  return lines;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function parseCheckpoint(text: string): { segment: number; offset: number } | undefined {
  const match = /^(\d+) (\d+)\n$/.exec(text);
  if (!match) return undefined;
  return { segment: Number(match[1]), offset: Number(match[2]) };
}

export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly logger: Logger;
  private readonly unlock: () => void;
  /** Oldest first; reading happens in the first, at `readOffset`; appending in the last when it is `active`. */
  private readonly segments: Segment[];
  private readOffset: number;
  private nextNumber: number;
  private active: { segment: Segment; handle: FileHandle } | undefined;
  private events: number;
  private diskBytes: number;
  /** Bytes of appends accepted but not yet written, so the bound holds while they wait. */
  private reservedBytes = 0;
  private queue: string[] = [];
  private queueBytes = 0;
  private waiters: Array<(written: boolean) => void> = [];
  private flushing: Promise<void> | undefined;
  private lastWriteFailed = false;
  private closed = false;
  private groups = 0;

  private constructor(
    options: SpoolOptions,
    unlock: () => void,
    state: { segments: Segment[]; readOffset: number; nextNumber: number; events: number },
  ) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.segmentBytes = segmentBytesFor(options.maxBytes);
    this.logger = options.logger;
    this.unlock = unlock;
    this.segments = state.segments;
    this.readOffset = state.readOffset;
    this.nextNumber = state.nextNumber;
    this.events = state.events;
    this.diskBytes = state.segments.reduce((sum, segment) => sum + segment.diskBytes, 0);
  }

  /** Opens the spool, taking over what a previous process left: those events are drained first. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const { dir, logger } = options;
    await mkdir(dir, { recursive: true });
    const unlock = takeFileLock(
      join(dir, "lock"),
      (holder) => `the spool in ${dir} is in use by ${holder}: give each process its own SPOOL_DIR`,
    );
    try {
      const state = await Spool.recover(dir, logger);
      if (state.events > 0) {
        logger.warn(
          { spool: dir, events: state.events },
          "the spool holds events from before: draining them to Redis",
        );
      }
      return new Spool(options, unlock, state);
    } catch (error) {
      unlock();
      throw error;
    }
  }

  private static async recover(dir: string, logger: Logger) {
    const numbers: number[] = [];
    for (const name of await readdir(dir)) {
      const match = SEGMENT_FILE.exec(name);
      if (match) numbers.push(Number(match[1]));
    }
    numbers.sort((a, b) => a - b);
    const text = await readFile(join(dir, CHECKPOINT_FILE), "utf8").catch(() => "");
    const saved = parseCheckpoint(text);
    if (text !== "" && saved === undefined) {
      logger.error({ spool: dir }, "the spool checkpoint is unreadable: draining from the oldest segment");
    }
    let checkpoint = saved ?? { segment: numbers[0] ?? 1, offset: 0 };

    const segments: Segment[] = [];
    for (const number of numbers) {
      const path = segmentPath(dir, number);
      // Fully acknowledged: the process stopped between writing the checkpoint and deleting the file.
      if (number < checkpoint.segment) await rm(path, { force: true });
      else {
        const size = (await stat(path)).size;
        segments.push({ number, path, size, diskBytes: size });
      }
    }
    const first = segments[0];
    if (first === undefined || first.number !== checkpoint.segment) {
      checkpoint = { segment: first?.number ?? checkpoint.segment, offset: 0 };
    } else if (checkpoint.offset > 0 && !(await Spool.startsRecord(first, checkpoint.offset))) {
      // Reading from the start may send events twice; guessing may lose some.
      logger.error(
        { spool: dir, checkpoint },
        "the spool checkpoint does not point at an event: draining its segment from the start",
      );
      checkpoint = { segment: first.number, offset: 0 };
    }
    let events = 0;
    for (const segment of segments) {
      events += await countLines(segment.path, segment === first ? checkpoint.offset : 0);
    }
    const lastNumber = segments.at(-1)?.number ?? checkpoint.segment - 1;
    return { segments, readOffset: checkpoint.offset, nextNumber: lastNumber + 1, events };
  }

  private static async startsRecord(segment: Segment, offset: number): Promise<boolean> {
    if (offset > segment.size) return false;
    const before = await Bun.file(segment.path)
      .slice(offset - 1, offset)
      .bytes();
    return before[0] === NEWLINE;
  }

  /** Events waiting for Redis. */
  get pendingEvents(): number {
    return this.events;
  }

  /** Write+fsync rounds since the spool was opened: fewer than appends when appends share one. */
  get commits(): number {
    return this.groups;
  }

  /** What the segment files take on disk. */
  get bytes(): number {
    return this.diskBytes;
  }

  /** False when the spool is (nearly) full, its last write failed, or it is closed: /check reports it. */
  get acceptsClicks(): boolean {
    return (
      !this.closed &&
      !this.lastWriteFailed &&
      this.diskBytes + this.reservedBytes + MIN_FREE_BYTES <= this.maxBytes
    );
  }

  /**
   * Appends one event; resolves true once it is written and fsynced, false when it was refused
   * (the spool is full or closed) or its write failed. The caller counts and logs a refusal.
   */
  append(event: string): Promise<boolean> {
    if (event.includes("\n")) throw new Error("a spooled event must not contain a line break");
    const bytes = Buffer.byteLength(event) + 1;
    if (this.closed || this.diskBytes + this.reservedBytes + bytes > this.maxBytes)
      return Promise.resolve(false);
    this.reservedBytes += bytes;
    this.queue.push(event);
    this.queueBytes += bytes;
    const written = new Promise<boolean>((resolve) => this.waiters.push(resolve));
    this.flushing ??= this.flush();
    return written;
  }

  /** The oldest events, at most `maxEvents` of them; undefined when none is waiting. */
  async peek(maxEvents: number): Promise<SpoolBatch | undefined> {
    for (;;) {
      const segment = this.segments[0];
      if (segment === undefined) return undefined;
      if (this.readOffset >= segment.size) {
        if (!(await this.retire(segment))) return undefined;
        continue;
      }
      const batch = await this.read(segment, maxEvents);
      if (batch) return batch;
    }
  }

  /** Redis acknowledged the batch: the spool forgets it. */
  async acknowledge(batch: SpoolBatch): Promise<void> {
    const segment = this.segments[0];
    if (segment?.number !== batch.segment || batch.end <= this.readOffset) {
      throw new Error("a spool batch was acknowledged out of order");
    }
    await this.writeCheckpoint(segment.number, batch.end);
    this.readOffset = batch.end;
    this.events -= batch.events.length;
    if (this.readOffset >= segment.size) await this.retire(segment);
  }

  /** Waits for the appends in progress, then closes; what is left is drained by the next start. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    const active = this.active;
    this.active = undefined;
    await active?.handle.close();
    this.unlock();
  }

  private async read(segment: Segment, maxEvents: number): Promise<SpoolBatch | undefined> {
    let length = READ_BYTES;
    for (;;) {
      const end = Math.min(segment.size, this.readOffset + length);
      const bytes = await Bun.file(segment.path).slice(this.readOffset, end).bytes();
      const events: string[] = [];
      let start = 0;
      for (
        let i = bytes.indexOf(NEWLINE);
        i !== -1 && events.length < maxEvents;
        i = bytes.indexOf(NEWLINE, start)
      ) {
        events.push(Buffer.from(bytes.buffer, bytes.byteOffset + start, i - start).toString("utf8"));
        start = i + 1;
      }
      if (events.length > 0) return { events, segment: segment.number, end: this.readOffset + start };
      if (end < segment.size) {
        length *= 2;
        continue;
      }
      // Only a segment left by a process that died mid-write ends without a newline; that event's
      // fsync never completed, so its click was never redirected.
      this.logger.warn(
        { spool: this.dir, segment: segment.path, bytes: segment.size - this.readOffset },
        "discarding the incomplete last line of a spool segment",
      );
      segment.size = this.readOffset;
      return undefined;
    }
  }

  /** Deletes a fully read segment, unless appends may still go to it. True when it was retired. */
  private async retire(segment: Segment): Promise<boolean> {
    if (this.active?.segment === segment) {
      if (this.flushing) return false;
      const { handle } = this.active;
      this.active = undefined;
      await handle.close();
    }
    if (this.segments[0] !== segment) return false;
    this.segments.shift();
    this.readOffset = 0;
    // The checkpoint moves on before the file goes: a crash in between leaves a file the next start deletes.
    await this.writeCheckpoint(this.segments[0]?.number ?? this.nextNumber, 0);
    await rm(segment.path, { force: true });
    this.diskBytes -= segment.diskBytes;
    return true;
  }

  private async writeCheckpoint(segment: number, offset: number): Promise<void> {
    const temporary = join(this.dir, `${CHECKPOINT_FILE}.tmp`);
    const handle = await open(temporary, "w");
    try {
      await handle.writeFile(`${segment} ${offset}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, join(this.dir, CHECKPOINT_FILE));
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const events = this.queue;
      const waiters = this.waiters;
      const bytes = this.queueBytes;
      this.queue = [];
      this.waiters = [];
      this.queueBytes = 0;
      const written = await this.write(events, bytes);
      this.reservedBytes -= bytes;
      for (const resolve of waiters) resolve(written);
    }
    this.flushing = undefined;
  }

  private async write(events: string[], bytes: number): Promise<boolean> {
    let active: { segment: Segment; handle: FileHandle } | undefined;
    try {
      active = await this.activeSegment();
      const data = Buffer.from(`${events.join("\n")}\n`);
      for (let offset = 0; offset < data.length; ) {
        offset += (await active.handle.write(data, offset, data.length - offset)).bytesWritten;
      }
      await active.handle.datasync();
      this.groups += 1;
      active.segment.size += bytes;
      active.segment.diskBytes += bytes;
      this.diskBytes += bytes;
      this.events += events.length;
      this.lastWriteFailed = false;
      return true;
    } catch (error) {
      this.lastWriteFailed = true;
      this.logger.error({ err: error, spool: this.dir, events: events.length }, "spool write failed");
      if (active) await this.abandon(active);
      return false;
    }
  }

  /** The segment to append to, starting a new one when there is none or it is full. */
  private async activeSegment(): Promise<{ segment: Segment; handle: FileHandle }> {
    if (this.active && this.active.segment.size < this.segmentBytes) return this.active;
    if (this.active) {
      const { handle } = this.active;
      this.active = undefined;
      await handle.close();
    }
    const segment: Segment = {
      number: this.nextNumber,
      path: segmentPath(this.dir, this.nextNumber),
      size: 0,
      diskBytes: 0,
    };
    this.nextNumber += 1;
    const handle = await open(segment.path, "a");
    this.segments.push(segment);
    this.active = { segment, handle };
    await syncDirectory(this.dir);
    return this.active;
  }

  /**
   * After a failed write the file's tail is unknown: cut it back to the last fsynced event, and append
   * to a new segment from now on. Reading stops at the known size either way.
   */
  private async abandon(active: { segment: Segment; handle: FileHandle }): Promise<void> {
    if (this.active === active) this.active = undefined;
    await active.handle.truncate(active.segment.size).catch(() => {});
    await active.handle.close().catch(() => {});
  }
}

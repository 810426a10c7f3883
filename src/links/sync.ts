import type { Database, Listening } from "../db/database";
import { type DatabaseProblem, databaseProblem } from "../db/problem";
import { retryDelayMs } from "../db/retry";
import type { Readiness } from "../http/readiness";
import type { Logger } from "../logger";
import { within } from "../within";
import type { LinkCache } from "./cache";
import { LINK_CHANGES_CHANNEL } from "./repository";

/**
 * Something else kept in step through the same change feed: notified with its own payload (not a
 * link id), and read again whenever the links are (each (re)connection and each refresh interval).
 */
export interface ChangeFollower {
  readonly payload: string;
  reload(): void;
}

export interface LinkSyncOptions {
  links: LinkCache;
  database: Pick<Database, "listen">;
  /** The safety net: every link is reloaded this often, whatever was notified. */
  refreshIntervalMs: number;
  logger: Logger;
  /** A reload slower than this counts as failed, so a hung connection cannot hold back the next one. */
  loadTimeoutMs?: number;
  retryDelayMs?: (attempt: number) => number;
  follower?: ChangeFollower;
  /** Until the first load succeeds, rejects while the database lacks a migration (Database.checkMigrated). */
  checkMigrated?: () => Promise<void>;
}

export const LINKS_NOT_LOADED = "links not loaded yet";
/** Followed by the reason the last load failed, e.g. `database not migrated: run npm run db:migrate`. */
export const LINKS_NOT_LOADED_BECAUSE = "links not loaded: ";
export const LINKS_UNREACHABLE = `${LINKS_NOT_LOADED_BECAUSE}database unreachable`;

/**
 * Keeps this instance's links in step with the database every instance shares. It LISTENs for the id
 * of each changed link and re-reads just that link; it reloads every link after each (re)connection of
 * the LISTEN (notifications sent while it was down are lost), every refresh interval, and with backoff
 * after a failure. While the LISTEN is live and a reload since its connection succeeded, the cache is
 * complete, so misses cost the database nothing.
 */
export class LinkSync implements Readiness {
  private readonly links: LinkCache;
  private readonly logger: Logger;
  private readonly loadTimeoutMs: number;
  private readonly retryDelay: (attempt: number) => number;
  private listening: Listening | undefined;
  private connected = false;
  /** Counts connections of the LISTEN, so a reload knows whether it stayed connected throughout. */
  private connection = 0;
  private loaded = false;
  /** "links loaded" was logged (once) and start() resolved. */
  private announced = false;
  /** An attempt to LISTEN failed since the last time it succeeded. */
  private listenFailed = false;
  /** Why the last load failed; undefined after a load succeeded. */
  private loadProblem: DatabaseProblem | undefined;
  /** The reason last logged while no load had succeeded yet, so that each is logged once. */
  private loggedProblem: string | undefined;
  private reloading = false;
  private reloadAgain = false;
  private failures = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private interval: ReturnType<typeof setInterval> | undefined;
  private interruptedSince: number | undefined;
  private stopped = false;
  private readonly started: Promise<void>;
  private startDone: () => void = () => {};

  constructor(private readonly options: LinkSyncOptions) {
    this.links = options.links;
    this.logger = options.logger;
    this.loadTimeoutMs = options.loadTimeoutMs ?? 30_000;
    this.retryDelay = options.retryDelayMs ?? retryDelayMs;
    this.started = new Promise((resolve) => {
      this.startDone = resolve;
    });
  }

  /**
   * Starts listening and loading. Resolves once the links are loaded and followed (the LISTEN is live),
   * or loaded but the LISTEN failed, or the first load failed: the sync retries on in every case.
   */
  start(): Promise<void> {
    this.listening = this.options.database.listen(LINK_CHANGES_CHANNEL, {
      onNotify: (payload) => this.changed(payload),
      onListen: () => {
        this.connected = true;
        this.listenFailed = false;
        this.connection += 1;
        this.options.follower?.reload();
        this.requestReload();
      },
      onDown: (error) => {
        this.connected = false;
        this.links.setComplete(false);
        if (error !== undefined) {
          this.listenFailed = true;
          // Serve what is loaded rather than wait for a LISTEN that may never work.
          if (this.loaded) this.announce(false);
        }
        this.interrupted(
          error === undefined ? "change feed connection lost" : "cannot listen for changes",
          error,
        );
      },
    });
    this.interval = setInterval(() => {
      this.options.follower?.reload();
      this.requestReload();
    }, this.options.refreshIntervalMs);
    this.interval.unref();
    this.requestReload();
    return this.started;
  }

  notReadyBecause(): string | undefined {
    if (this.loaded) return undefined;
    return this.loadProblem ? `${LINKS_NOT_LOADED_BECAUSE}${this.loadProblem.reason}` : LINKS_NOT_LOADED;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.interval);
    clearTimeout(this.retry);
    this.startDone();
    await this.listening?.close();
  }

  private changed(payload: string): void {
    const follower = this.options.follower;
    if (follower !== undefined && payload === follower.payload) {
      follower.reload();
      return;
    }
    const id = Number(payload);
    if (!Number.isSafeInteger(id)) {
      this.logger.warn({ payload }, "unexpected link change notification: reloading every link");
      this.requestReload();
      return;
    }
    this.links.refresh(id).catch((error: unknown) => {
      this.interrupted(`link ${id} could not be re-read`, error);
      this.requestReload();
    });
  }

  /** One reload at a time; a request during one runs another right after (it may have started too early). */
  private requestReload(): void {
    if (this.stopped) return;
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    clearTimeout(this.retry);
    this.retry = undefined;
    this.reloading = true;
    void this.reload().finally(() => {
      this.reloading = false;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        this.requestReload();
      }
    });
  }

  private async reload(): Promise<void> {
    const connection = this.connected ? this.connection : undefined;
    try {
      // A database one migration behind this release still serves the links: until they are first
      // loaded, say so rather than go ready and fail on the newer tables later.
      const loading = this.loaded ? this.links.load() : this.checkedLoad();
      await within(loading, this.loadTimeoutMs, () =>
        Promise.reject(new Error(`loading the links took longer than ${this.loadTimeoutMs} ms`)),
      );
      if (this.stopped) return;
      this.failures = 0;
      this.loadProblem = undefined;
      this.loaded = true;
      // Every change after this load's snapshot was notified only if the LISTEN was live from before
      // the load began until now.
      const complete = connection !== undefined && this.connected && connection === this.connection;
      if (complete) this.links.setComplete(true);
      if (complete || this.listenFailed) this.announce(complete);
      if (complete) this.restored();
    } catch (error) {
      if (this.stopped) return;
      this.loadProblem = databaseProblem(error);
      this.interrupted("links could not be loaded", error);
      if (!this.loaded) this.notLoaded(this.loadProblem);
      if (!this.reloadAgain) {
        this.retry = setTimeout(() => this.requestReload(), this.retryDelay(this.failures++));
      }
      // The first failure ends start(): the service listens, not ready, while this retries.
      this.startDone();
    }
  }

  private async checkedLoad(): Promise<number> {
    await this.options.checkMigrated?.();
    return this.links.load();
  }

  private announce(followingChanges: boolean): void {
    if (this.announced) return;
    this.announced = true;
    this.logger.info({ links: this.links.size, followingChanges }, "links loaded");
    this.startDone();
  }

  /**
   * Until the first load succeeds, the reason is the log line itself (the same text /check
   * answers), each time it changes: a database that needs someone to act is an error.
   */
  private notLoaded(problem: DatabaseProblem): void {
    if (problem.reason === this.loggedProblem) return;
    this.loggedProblem = problem.reason;
    const level = problem.kind === "unreachable" ? "warn" : "error";
    this.logger[level](
      { problem: problem.kind, code: problem.code, retrying: true },
      `${LINKS_NOT_LOADED_BECAUSE}${problem.reason}`,
    );
  }

  /** Logged once per outage, however many clicks and retries it lasts. */
  private interrupted(reason: string, error: unknown): void {
    if (this.interruptedSince !== undefined) return;
    this.interruptedSince = Date.now();
    const cause = error === undefined ? undefined : databaseProblem(error).reason;
    this.logger.warn(
      { reason, cause, err: error, links: this.links.size },
      "link sync interrupted: serving the links in memory while retrying",
    );
  }

  private restored(): void {
    if (this.interruptedSince === undefined) return;
    this.logger.info(
      { interruptedMs: Date.now() - this.interruptedSince, links: this.links.size },
      "link sync restored",
    );
    this.interruptedSince = undefined;
  }
}

import { afterEach, describe, expect, test } from "bun:test";
import pino from "pino";
import type { ChannelListener, Listening } from "../../src/db/database";
import type { CampaignLink } from "../../src/db/schema";
import { LinkCache } from "../../src/links/cache";
import { LINK_CHANGES_CHANNEL, type LinkRepository } from "../../src/links/repository";
import { type ChangeFollower, LINKS_NOT_LOADED, LINKS_UNREACHABLE, LinkSync } from "../../src/links/sync";
import { linkRow } from "../support/links";
import { waitFor } from "../support/ports";

/** A link whose default target names its version, so a test can tell two states of one link apart. */
function link(id: number, url = `https://example.com/${id}`): CampaignLink {
  return linkRow({ id, targetUrl: { default: url } });
}

/** The table, changed by the test behind the sync's back; `down` makes every read fail, `hang` never answer. */
class TableRepository implements LinkRepository {
  readonly rows = new Map<number, CampaignLink>();
  down = false;
  hang = false;
  loads = 0;
  reads = 0;

  private answer<T>(value: () => T): Promise<T> {
    if (this.hang) return new Promise(() => {});
    if (this.down) return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
    return Promise.resolve(value());
  }

  all(): Promise<CampaignLink[]> {
    this.loads += 1;
    return this.answer(() => [...this.rows.values()]);
  }

  byId(id: number): Promise<CampaignLink | undefined> {
    this.reads += 1;
    return this.answer(() => this.rows.get(id));
  }

  upsert(): Promise<CampaignLink> {
    throw new Error("not used by the sync");
  }

  remove(): Promise<boolean> {
    throw new Error("not used by the sync");
  }
}

/** Stands in for the LISTEN connection: the test says when it connects, drops and what it hears. */
class FakeChannel {
  listener: ChannelListener | undefined;
  channel: string | undefined;
  closed = false;

  listen(channel: string, listener: ChannelListener): Listening {
    this.channel = channel;
    this.listener = listener;
    return {
      close: async () => {
        this.closed = true;
      },
    };
  }

  get connected(): ChannelListener {
    if (!this.listener) throw new Error("nobody listens");
    return this.listener;
  }
}

interface LogLine {
  level: number;
  msg: string;
  reason?: string;
  followingChanges?: boolean;
}

const running: LinkSync[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sync) => sync.stop()));
});

function setUp(
  options: { refreshIntervalMs?: number; loadTimeoutMs?: number; follower?: ChangeFollower } = {},
) {
  const repository = new TableRepository();
  const links = new LinkCache(repository, { missingTtlMs: 0 });
  const channel = new FakeChannel();
  const logs: LogLine[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const sync = new LinkSync({
    links,
    database: channel,
    refreshIntervalMs: options.refreshIntervalMs ?? 3_600_000,
    loadTimeoutMs: options.loadTimeoutMs,
    logger,
    retryDelayMs: () => 5,
    ...(options.follower && { follower: options.follower }),
  });
  running.push(sync);
  const messages = (msg: string) => logs.filter((line) => line.msg === msg);
  /** Starts the sync and connects its LISTEN, as a reachable Postgres would. */
  const startFollowing = async () => {
    const started = sync.start();
    channel.connected.onListen();
    await started;
  };
  /** Whether a miss for an id never seen costs a database read (it does not once the cache is complete). */
  const missAsksDatabase = async (id: number) => {
    const before = repository.reads;
    await links.lookup(id);
    return repository.reads > before;
  };
  return { repository, links, channel, sync, logs, messages, missAsksDatabase, startFollowing };
}

describe("LinkSync", () => {
  test("a follower hears its own payload on the feed, and reloads with each connection and refresh", async () => {
    let reloads = 0;
    const follower = { payload: "destinations", reload: () => void reloads++ };
    const { repository, channel, messages, startFollowing } = setUp({ refreshIntervalMs: 50, follower });
    await startFollowing();
    expect(reloads).toBe(1);
    const loads = repository.loads;
    channel.connected.onNotify("destinations");
    expect(reloads).toBe(2);
    // Not a link id, but not a stray payload either: no warning, no reload of every link for it.
    expect(messages("unexpected link change notification: reloading every link")).toEqual([]);
    expect(repository.loads).toBe(loads);
    await waitFor("a refresh", () => reloads > 2 || undefined);
    channel.connected.onDown();
    const beforeReconnect = reloads;
    channel.connected.onListen();
    expect(reloads).toBe(beforeReconnect + 1);
  });

  test("start: listens on the one change channel, resolves once the links are loaded and followed", async () => {
    const { repository, links, channel, sync, messages, missAsksDatabase } = setUp();
    repository.rows.set(1, link(1));
    expect(sync.notReadyBecause()).toBe(LINKS_NOT_LOADED);
    let started = false;
    void sync.start().then(() => {
      started = true;
    });
    expect(channel.channel).toBe(LINK_CHANGES_CHANNEL);
    await waitFor("the first load", () => sync.notReadyBecause() === undefined || undefined);
    expect(links.get(1)).toEqual(link(1));
    // Loaded but not yet followed: not started, and a miss still asks the database.
    await Bun.sleep(20);
    expect(started).toBe(false);
    expect(await missAsksDatabase(100)).toBe(true);

    channel.connected.onListen();
    await waitFor("start", () => started || undefined);
    expect(await missAsksDatabase(101)).toBe(false);
    expect(messages("links loaded")).toMatchObject([{ followingChanges: true }]);
  });

  test("a LISTEN that fails does not hold back the start: the loaded links are served, misses ask", async () => {
    const { repository, channel, sync, messages, missAsksDatabase } = setUp();
    repository.rows.set(1, link(1));
    const started = sync.start();
    await waitFor("the first load", () => sync.notReadyBecause() === undefined || undefined);
    channel.connected.onDown(new Error("cannot execute LISTEN during recovery"));
    await started;
    expect(messages("links loaded")).toMatchObject([{ followingChanges: false }]);
    expect(messages("link sync interrupted: serving the links in memory while retrying")).toMatchObject([
      { reason: "cannot listen for changes" },
    ]);
    expect(await missAsksDatabase(100)).toBe(true);
  });

  test("started while the database is down: not ready and says why, retries, ready once it answers", async () => {
    const { repository, links, sync, messages } = setUp();
    repository.down = true;
    repository.rows.set(1, link(1));
    await sync.start();
    expect(sync.notReadyBecause()).toBe(LINKS_UNREACHABLE);
    await waitFor("several failed loads", () => repository.loads >= 4 || undefined);
    expect(sync.notReadyBecause()).toBe(LINKS_UNREACHABLE);
    repository.down = false;
    await waitFor("ready", () => sync.notReadyBecause() === undefined || undefined);
    expect(links.get(1)).toEqual(link(1));
    expect(messages("link sync interrupted: serving the links in memory while retrying")).toHaveLength(1);
  });

  test("a notification re-reads just that link, or drops it when it is gone", async () => {
    const { repository, links, channel, startFollowing } = setUp();
    repository.rows.set(1, link(1));
    repository.rows.set(2, link(2));
    await startFollowing();
    await waitFor("the reload after listening", () => repository.loads >= 2 || undefined);
    const loads = repository.loads;

    repository.rows.set(1, link(1, "https://example.com/changed"));
    channel.connected.onNotify("1");
    await waitFor(
      "the change",
      () => links.get(1)?.targetUrl.default === "https://example.com/changed" || undefined,
    );
    repository.rows.delete(2);
    channel.connected.onNotify("2");
    await waitFor("the deletion", () => links.get(2) === undefined || undefined);
    expect(repository.loads).toBe(loads);
    expect(repository.reads).toBe(2);
  });

  test("a garbled notification reloads every link", async () => {
    const { repository, channel, startFollowing } = setUp();
    await startFollowing();
    const loads = repository.loads;
    channel.connected.onNotify("not an id");
    await waitFor("a reload", () => repository.loads > loads || undefined);
  });

  test("a lost LISTEN: misses ask the database again; reconnected, every link is reloaded", async () => {
    const { repository, links, channel, missAsksDatabase, messages, startFollowing } = setUp();
    await startFollowing();
    await waitFor("a complete cache", async () => !(await missAsksDatabase(100)) || undefined);

    channel.connected.onDown();
    expect(await missAsksDatabase(101)).toBe(true);
    // A change while the LISTEN is down is never notified: only the reload after reconnecting finds it.
    repository.rows.set(7, link(7));
    channel.connected.onListen();
    await waitFor("the missed change", () => links.get(7) || undefined);
    await waitFor("a complete cache again", async () => !(await missAsksDatabase(102)) || undefined);
    const interrupted = messages("link sync interrupted: serving the links in memory while retrying");
    expect(interrupted).toHaveLength(1);
    expect(interrupted[0]?.reason).toBe("change feed connection lost");
    expect(messages("link sync restored")).toHaveLength(1);
  });

  test("an outage is logged once and its recovery once, however long it lasts", async () => {
    const { repository, links, channel, messages, startFollowing } = setUp();
    repository.rows.set(1, link(1));
    await startFollowing();
    await waitFor("loaded twice", () => repository.loads >= 2 || undefined);

    repository.down = true;
    channel.connected.onDown();
    for (let attempt = 0; attempt < 5; attempt++) channel.connected.onDown(new Error("ECONNREFUSED"));
    for (let id = 1; id <= 20; id++) await links.lookup(1000 + id);
    channel.connected.onNotify("1");
    const loads = repository.loads;
    await waitFor("failed reloads", () => repository.loads >= loads + 3 || undefined);
    expect(links.get(1)).toEqual(link(1));

    repository.down = false;
    channel.connected.onListen();
    await waitFor("restored", () => messages("link sync restored").length > 0 || undefined);
    expect(messages("link sync interrupted: serving the links in memory while retrying")).toHaveLength(1);
    expect(messages("link sync restored")).toHaveLength(1);
  });

  test("a reload that hangs counts as failed, so the next one still runs", async () => {
    const { repository, sync } = setUp({ loadTimeoutMs: 20 });
    repository.hang = true;
    await sync.start();
    expect(sync.notReadyBecause()).toBe(LINKS_UNREACHABLE);
    repository.hang = false;
    await waitFor("ready", () => sync.notReadyBecause() === undefined || undefined);
  });

  test("the periodic refresh finds changes nobody notified", async () => {
    const { repository, links, startFollowing } = setUp({ refreshIntervalMs: 20 });
    await startFollowing();
    repository.rows.set(3, link(3));
    await waitFor("the periodic reload", () => links.get(3) || undefined);
  });

  test("stop closes the LISTEN and stops reloading", async () => {
    const { repository, channel, sync, startFollowing } = setUp({ refreshIntervalMs: 10 });
    await startFollowing();
    await sync.stop();
    expect(channel.closed).toBe(true);
    const loads = repository.loads;
    await Bun.sleep(50);
    expect(repository.loads).toBe(loads);
  });
});

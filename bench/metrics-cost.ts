/**
 * What the metrics cost a click (`bun run bench:metrics`). In process, no network: it measures
 * CPU time only, on whatever else the machine is doing, so read the numbers as orders of magnitude.
 *
 * 1. The metric updates one redirected click makes (link cache hit, push result and latency,
 *    clicks_total), as this service makes them (plain cells), and as prom-client's own bound
 *    children (`.labels(...).inc()`, `.observe()`) would.
 * 2. A whole click through the Hono app (an in-memory clickstore), for scale.
 */
import { Counter, Histogram, Registry } from "prom-client";
import { createApp } from "../src/app";
import { createClickComposer } from "../src/click/click";
import { createPlatformDetector } from "../src/click/platform";
import type { Clickstore } from "../src/clickstore/clickstore";
import { loadConfig } from "../src/config";
import { createClientIp } from "../src/http/client-ip";
import { LinkCache } from "../src/links/cache";
import type { LinkRepository } from "../src/links/repository";
import { createLogger } from "../src/logger";
import { Metrics } from "../src/metrics/metrics";
import { linkRow } from "../test/support/links";

const ROUNDS = 5;
const UPDATES = 2_000_000;
const CLICKS = 50_000;

/** The fastest of a few rounds: the one least disturbed by the rest of the machine. */
async function best(label: string, run: () => number | Promise<number>): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) fastest = Math.min(fastest, await run());
  console.log(`${label.padEnd(56)} ${fastest.toFixed(1).padStart(9)} ns`);
  return fastest;
}

function perOp(count: number, body: () => void): number {
  const started = Bun.nanoseconds();
  body();
  return (Bun.nanoseconds() - started) / count;
}

// 1. The updates of one click.
const metrics = new Metrics();
const node = metrics.clickstoreNode("10.0.0.1:6379");
const stats = { hits: 0, misses: 0, knownMissing: 0 };
const cells = await best("metric updates per click, cells (this service)", () =>
  perOp(UPDATES, () => {
    for (let i = 0; i < UPDATES; i++) {
      stats.hits++;
      const started = performance.now();
      node.recordPush("ok", started);
      metrics.countClick("ios", "redirected", started);
    }
  }),
);

const registry = new Registry();
const clicks = new Counter({
  name: "c_total",
  help: "c",
  labelNames: ["platform", "outcome"],
  registers: [registry],
});
const pushes = new Counter({
  name: "p_total",
  help: "p",
  labelNames: ["node", "result"],
  registers: [registry],
});
const lookups = new Counter({ name: "l_total", help: "l", labelNames: ["result"], registers: [registry] });
const seconds = new Histogram({ name: "s_seconds", help: "s", labelNames: ["node"], registers: [registry] });
const clickChild = clicks.labels("ios", "redirected");
const pushChild = pushes.labels("10.0.0.1:6379", "ok");
const hitChild = lookups.labels("hit");
const secondsChild = seconds.labels("10.0.0.1:6379");
const children = await best("metric updates per click, prom-client bound children", () =>
  perOp(UPDATES / 10, () => {
    for (let i = 0; i < UPDATES / 10; i++) {
      hitChild.inc();
      const started = performance.now();
      pushChild.inc();
      secondsChild.observe((performance.now() - started) / 1000);
      clickChild.inc();
    }
  }),
);

// 2. A whole click, for scale.
const link = linkRow({ id: 1, network: "adnet", targetUrl: { ios: "https://apps.apple.com/app/id1" } });
const repository: LinkRepository = {
  all: async () => [link],
  byId: async () => undefined,
  upsert: async () => link,
  remove: async () => false,
};
const links = new LinkCache(repository);
await links.load();
const appMetrics = new Metrics();
appMetrics.watchLinkCache(links);
const memoryNode = appMetrics.clickstoreNode("memory");
let stored = 0;
const clickstore: Clickstore = {
  description: "memory",
  async push() {
    const started = performance.now();
    stored++;
    memoryNode.recordPush("ok", started);
    return "stored";
  },
  health: async () => ({
    acceptsClicks: true,
    store: "memory",
    nodes: [],
    spool: undefined,
    dropped: 0,
    retriedAfterTimeout: 0,
  }),
  ready: async () => {},
  close: async () => {},
};
const app = createApp({
  config: loadConfig({ LOG_LEVEL: "silent" }),
  logger: createLogger("silent"),
  links,
  repository,
  replayGuard: { claim: async () => true },
  clickstore,
  composeClick: createClickComposer({ detectPlatform: createPlatformDetector(), notFoundUrl: undefined }),
  clientIp: createClientIp("off"),
  metrics: appMetrics,
  readiness: { notReadyBecause: () => undefined },
});
const peers = { requestIP: () => ({ address: "203.0.113.7" }) };
const userAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
const whole = await best("a whole click through the app (in-memory clickstore)", async () => {
  const started = Bun.nanoseconds();
  for (let i = 0; i < CLICKS; i++) {
    const request = new Request("http://clicks.test/click/1/go?idfa=6D92078A-8246-4BA4-AE5B-76104861E7DC", {
      headers: { "user-agent": userAgent },
    });
    const response = await app.fetch(request, peers);
    if (response.status !== 307) throw new Error(`click answered ${response.status}`);
  }
  return (Bun.nanoseconds() - started) / CLICKS;
});
if (stored !== ROUNDS * CLICKS) throw new Error(`${stored} events stored, ${ROUNDS * CLICKS} expected`);

const share = (ns: number) => `${((ns / whole) * 100).toFixed(2)} % of a click`;
console.log(`\nmetrics per click: ${cells.toFixed(1)} ns with cells (${share(cells)}),`);
console.log(`                   ${children.toFixed(1)} ns with prom-client children (${share(children)})`);

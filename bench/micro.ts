/**
 * `bun run bench:micro`: the click's CPU work alone, per call, with mitata: UA detection with and
 * without the cache, the event string, and the whole composition, over the benchmark's own traffic.
 */
import { writeFileSync } from "node:fs";
import { bench, do_not_optimize, group, run } from "mitata";
import { type ClickRequest, createClickComposer } from "../src/click/click";
import { isoSeconds } from "../src/click/clock";
import { type ClickFields, eventLine, eventQuery } from "../src/click/event";
import { createLocator } from "../src/click/location";
import { createPlatformDetector, detectPlatform } from "../src/click/platform";
import { parseQuery } from "../src/click/query";
import type { CampaignLink } from "../src/db/schema";
import { resultsFile } from "./options";
import { buildTraffic } from "./traffic";

const traffic = buildTraffic();
const links = new Map<number, CampaignLink>(
  traffic.links.map((link) => [
    link.id,
    {
      id: link.id,
      campaign: link.campaign ?? null,
      adgroup: link.adgroup ?? null,
      ad: link.ad ?? null,
      network: link.network ?? null,
      country: link.country ?? null,
      device: link.device ?? null,
      campaignUrl: link.campaignUrl ?? null,
      targetUrl: link.targetUrl ?? {},
      attributionWindowFingerprint: link.attributionWindowFingerprint ?? null,
      attributionWindowIdfa: link.attributionWindowIdfa ?? null,
      userId: link.userId ?? null,
      createdAt: new Date(),
      updatedAt: new Date(),
    },
  ]),
);

interface Click {
  link: CampaignLink;
  request: ClickRequest;
}

const now = Date.now();
const clicks: Click[] = traffic.requests.map((request, index) => {
  const [, , id] = request.path.split("?")[0]?.split("/") ?? [];
  const question = request.path.indexOf("?");
  return {
    link: links.get(Number(id)) as CampaignLink,
    request: {
      rawQuery: request.path.slice(question + 1),
      ip: `203.0.113.${index % 250}`,
      userAgent: request.userAgent,
      nowMs: now,
    },
  };
});
const agents = [...new Set(traffic.requests.map((request) => request.userAgent))];

// Each call takes the next click, so caches and branches see the traffic's variety.
function cycle<T>(items: T[]): () => T {
  let index = 0;
  return () => {
    index = (index + 1) % items.length;
    return items[index] as T;
  };
}

const warmDetector = createPlatformDetector();
for (const agent of agents) warmDetector(agent);
const composeCached = createClickComposer({ detectPlatform: warmDetector, notFoundUrl: undefined });
const composeUncached = createClickComposer({ detectPlatform, notFoundUrl: undefined });
const composeWithoutReferrer = createClickComposer({
  detectPlatform: warmDetector,
  notFoundUrl: undefined,
  playReferrer: false,
});
const composeFingerprint = createClickComposer({
  detectPlatform: warmDetector,
  notFoundUrl: undefined,
  zeroedAdid: "fingerprint",
});
// Destination checks on: every tenth link's targets dead, so the lookup and the reroute both run.
const dead = new Set(
  [...links.values()].filter((link) => link.id % 10 === 0).flatMap((link) => Object.values(link.targetUrl)),
);
const composeChecked = createClickComposer({
  detectPlatform: warmDetector,
  notFoundUrl: undefined,
  isDead: (url) => dead.has(url),
  reroute: true,
});

group("UA → platform", () => {
  const nextAgent = cycle(agents);
  bench("detectPlatform, no cache", () => do_not_optimize(detectPlatform(nextAgent())));
  const nextCached = cycle(agents);
  bench("cached detector, warm", () => do_not_optimize(warmDetector(nextCached())));
});

group("event string", () => {
  const next = cycle(clicks);
  const createdAt = isoSeconds(Math.floor(now / 1000));
  bench("eventQuery + eventLine", () => {
    const { link, request } = next();
    const query = eventQuery(link, {
      adid: "5F3E0DC6-2C1A-4D6A-9B36-0D3F1E6C9A11",
      attrWindowFrom: createdAt,
      attrWindowTill: createdAt,
      click: "9QC399dvNqLDiSrARsfM",
      clickId: "019ac6d4-7f00-7000-8000-000000000000",
      createdAt,
      idfaComb: "5F3E0DC6-2C1A-4D6A-9B36-0D3F1E6C9A11",
      lookupKey: "0123456789abcdef0123456789abcdef",
      partnerData: "KnyoL4mqqSmfUUnbPuIHfp5z",
      redirectUrl: link.targetUrl.default,
      redirectEncoded: undefined,
      reqparams: "creative=interstitial&os_version=14",
    });
    do_not_optimize(eventLine(request.ip, 1764310256, query, request.userAgent));
  });
  const nextQuery = cycle(clicks);
  bench("parseQuery", () => do_not_optimize(parseQuery(nextQuery().request.rawQuery)));
});

group("whole composition (composeClick)", () => {
  const nextWarm = cycle(clicks);
  bench("with the UA cache", () => {
    const { link, request } = nextWarm();
    do_not_optimize(composeCached(link, request));
  });
  const nextFingerprint = cycle(clicks);
  bench("with the UA cache, ZEROED_ADID=fingerprint", () => {
    const { link, request } = nextFingerprint();
    do_not_optimize(composeFingerprint(link, request));
  });
  const nextChecked = cycle(clicks);
  bench("with the UA cache, destination checks on", () => {
    const { link, request } = nextChecked();
    do_not_optimize(composeChecked(link, request));
  });
  const nextCold = cycle(clicks);
  bench("without the UA cache", () => {
    const { link, request } = nextCold();
    do_not_optimize(composeUncached(link, request));
  });
  const nextOff = cycle(clicks);
  bench("with the UA cache, PLAY_REFERRER=off", () => {
    const { link, request } = nextOff();
    do_not_optimize(composeWithoutReferrer(link, request));
  });
});

group("target → Location (macros, Play referrer)", () => {
  const locate = createLocator({ playReferrer: true });
  const createdAt = isoSeconds(Math.floor(now / 1000));
  const fields: ClickFields = {
    adid: "5F3E0DC6-2C1A-4D6A-9B36-0D3F1E6C9A11",
    attrWindowFrom: createdAt,
    attrWindowTill: createdAt,
    click: "9QC399dvNqLDiSrARsfM",
    clickId: "019ac6d4-7f00-7000-8000-000000000000",
    createdAt,
    idfaComb: "5F3E0DC6-2C1A-4D6A-9B36-0D3F1E6C9A11",
    lookupKey: "0123456789abcdef0123456789abcdef",
    partnerData: "KnyoL4mqqSmfUUnbPuIHfp5z",
    redirectUrl: undefined,
    redirectEncoded: undefined,
    reqparams: "",
  };
  const targets = (kind: (url: string) => boolean) =>
    clicks.flatMap(({ link, request }) =>
      Object.values(link.targetUrl)
        .filter(kind)
        .map((url) => ({ link, url, rawQuery: request.rawQuery })),
    );
  const kinds: Array<[string, (url: string) => boolean]> = [
    ["plain target", (url) => !url.includes("{") && !url.includes("play.google.com")],
    ["Play listing", (url) => !url.includes("{") && url.includes("play.google.com")],
    ["target with macros", (url) => url.includes("{")],
  ];
  for (const [name, kind] of kinds) {
    const chosen = targets(kind);
    if (chosen.length === 0) continue;
    const next = cycle(chosen);
    bench(name, () => {
      const { link, url, rawQuery } = next();
      locate(link, url, fields, "android", 1764310256, rawQuery);
      do_not_optimize(fields.redirectUrl);
    });
  }
});

const { benchmarks } = await run();
const perCall = benchmarks.flatMap((trial) =>
  trial.runs.flatMap((each) =>
    each.stats
      ? [{ name: each.name, avgNs: each.stats.avg, p50Ns: each.stats.p50, p99Ns: each.stats.p99 }]
      : [],
  ),
);
const out = resultsFile(`micro-${new Date().toISOString().replaceAll(":", "-")}.json`);
writeFileSync(
  out,
  `${JSON.stringify({ bun: Bun.version, userAgents: agents.length, clicks: clicks.length, perCall }, null, 2)}\n`,
);
console.log(`results: ${out}`);

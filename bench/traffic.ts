import crawlers from "crawler-user-agents";
import UserAgent from "user-agents";
import type { NewCampaignLink } from "../src/db/schema";

/**
 * The clicks the load generator sends: real User-Agent strings (browsers from the `user-agents`
 * data set, weighted as it weights them, plus real crawler UAs), at least 100 campaign links, and
 * query strings shaped like the ones ad networks send. Deterministic, so runs compare.
 */

export interface BenchRequest {
  path: string;
  userAgent: string;
}

export interface Traffic {
  links: NewCampaignLink[];
  /** The link that the load generator switches to at the end of a run (see bench/clicks.lua). */
  tailLinkId: number;
  requests: BenchRequest[];
  distinctUserAgents: number;
  distinctLinks: number;
}

export interface TrafficOptions {
  links: number;
  requests: number;
  crawlers: number;
  /** Share of clicks that come from crawlers. */
  crawlerShare: number;
  seed: number;
}

export const DEFAULT_TRAFFIC: TrafficOptions = {
  links: 120,
  requests: 8192,
  crawlers: 200,
  crawlerShare: 0.05,
  seed: 20261128,
};

/** Where the tail link sends people: the load generator tells main from tail clicks by it. */
export const TAIL_LOCATION = "https://tail.bench.invalid/";
const FIRST_LINK_ID = 1001;

type Random = () => number;

/** mulberry32: a small seeded generator, so every run sends the same clicks. */
function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function hex(random: Random, digits: number): string {
  let text = "";
  for (let i = 0; i < digits; i++) text += Math.floor(random() * 16).toString(16);
  return text;
}

function uuid(random: Random): string {
  const raw = hex(random, 32);
  return `${raw.slice(0, 8)}-${raw.slice(8, 12)}-4${raw.slice(13, 16)}-a${raw.slice(17, 20)}-${raw.slice(20)}`;
}

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
function token(random: Random, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += ALNUM[Math.floor(random() * ALNUM.length)];
  return text;
}

// A header value the load generator can send as it is: printable ASCII only.
const PRINTABLE = /^[\x20-\x7e]+$/;

interface WeightedAgent {
  userAgent: string;
  weight: number;
  mobileOs: "ios" | "android" | undefined;
}

function mobileOs(userAgent: string): WeightedAgent["mobileOs"] {
  if (/iPhone|iPad|iPod/.test(userAgent)) return "ios";
  if (/Android/.test(userAgent)) return "android";
  return undefined;
}

/** Every distinct browser UA of the data set, with its weight (its share of real traffic). */
function browserAgents(): WeightedAgent[] {
  const weights = new Map<string, number>();
  // Every entry of the data set, heaviest first: one per (UA, screen, platform), weighted by its traffic.
  for (const entry of UserAgent.top()) {
    if (!PRINTABLE.test(entry.userAgent)) continue;
    weights.set(entry.userAgent, (weights.get(entry.userAgent) ?? 0) + entry.weight);
  }
  return [...weights].map(([userAgent, weight]) => ({ userAgent, weight, mobileOs: mobileOs(userAgent) }));
}

function crawlerAgents(count: number, random: Random): string[] {
  const all = [...new Set(crawlers.flatMap((crawler) => crawler.instances))].filter((ua) =>
    PRINTABLE.test(ua),
  );
  const chosen: string[] = [];
  while (chosen.length < count && all.length > 0) {
    chosen.push(all.splice(Math.floor(random() * all.length), 1)[0] as string);
  }
  return chosen;
}

const NETWORKS = ["Facebook Ads", "Google Ads", "Unity Ads", "AppLovin", "ironSource", "TikTok for Business"];
const COUNTRIES = ["DE", "US", "FR", "BR", "JP", "IN"];

/**
 * A link's targets as advertisers write them: App Store and Google Play listings (half of the Play
 * listings with a referrer of the advertiser's own), web landing pages, and macros in a quarter of
 * the landing pages, a tenth of the App Store links and a tenth of the Play listings.
 */
function benchTargets(id: number, random: Random): Record<string, string> {
  const store = `${id}`.padStart(9, "0");
  const app = `com.example.app${id}`;
  const play = random();
  const macrosInIos = random() < 0.1;
  const macrosInLanding = random() < 0.25;
  return {
    ios: `https://apps.apple.com/app/id${store}?pt=${id}&ct=${macrosInIos ? "{click_id}" : "bench"}&mt=8`,
    android:
      play < 0.45
        ? `https://play.google.com/store/apps/details?id=${app}`
        : play < 0.9
          ? `https://play.google.com/store/apps/details?id=${app}&referrer=utm_source%3Dbench%26utm_medium%3Dcpc`
          : `https://play.google.com/store/apps/details?id=${app}&referrer=utm_source%3D{network}%26utm_content%3D{q:sub1}`,
    default: macrosInLanding
      ? `https://www.example.com/landing/${id}?utm_source=bench&utm_campaign={campaign}&cid={click_id}&sub1={q:sub1}`
      : `https://www.example.com/landing/${id}?utm_source=bench&utm_medium=cpc`,
    fallback: "https://www.example.com/",
  };
}

function benchLink(id: number, random: Random, location?: string): NewCampaignLink {
  return {
    id,
    campaign: pick(random, ["Summer Sale 2026", "Black Friday", "Re-engagement Q4", "Brand – Ünïcödé"]),
    adgroup: `adgroup ${id % 17}`,
    ad: `banner_${pick(random, ["320x50", "728x90", "video_15s"])}_${id}`,
    network: pick(random, NETWORKS),
    country: pick(random, COUNTRIES),
    device: pick(random, ["phone", "tablet", null]),
    campaignUrl: null,
    targetUrl: location ? { default: location } : benchTargets(id, random),
    attributionWindowFingerprint: pick(random, [60, 1440, null]),
    attributionWindowIdfa: pick(random, [10080, 43200, null]),
    userId: 1000 + (id % 7),
  };
}

/** The advertising-id part of a query, as the networks send it for this device. */
function identifiers(random: Random, os: WeightedAgent["mobileOs"]): string[] {
  const roll = random();
  if (roll < 0.02) return [pick(random, ["idfa=fubar", "adid=&idfa=", "gadid=%7BGAID%7D"])];
  if (os === "ios") {
    if (roll < 0.7) return [`idfa=${uuid(random).toUpperCase()}`];
    if (roll < 0.8) return ["idfa=00000000-0000-0000-0000-000000000000"];
    if (roll < 0.85) return [`adid=&idfa_md5=${hex(random, 32)}`];
    return [];
  }
  if (os === "android") {
    if (roll < 0.65) return [`gadid=${uuid(random)}`];
    if (roll < 0.7) return [`adid=${hex(random, 32)}`];
    if (roll < 0.75) return [`idfa_sha1=${hex(random, 40)}`];
    return [];
  }
  return roll < 0.1 ? [`adid=${uuid(random)}`] : [];
}

function extras(random: Random, linkId: number): string[] {
  const candidates = [
    `sub1=pub_${Math.floor(random() * 10_000)}`,
    `sub2=${pick(random, ["Summer+Sale", "retarget%20Q4", "caf%C3%A9", "a%26b%3Dc"])}`,
    `site_id=com.example.game${Math.floor(random() * 50)}`,
    `creative=${pick(random, ["banner_320x50", "interstitial", "rewarded_video"])}`,
    `ts=${1_764_310_000 + Math.floor(random() * 100_000)}`,
    `os_version=${pick(random, ["17.1", "18.0.1", "14", "13"])}`,
    `campaign_name=${pick(random, ["Summer%20Sale", "BF+2026", "brand"])}`,
    `placement=${token(random, 6)}`,
    `id=${linkId}`,
  ];
  return candidates.filter(() => random() < 0.45);
}

function partnerData(random: Random): string[] {
  const roll = random();
  if (roll < 0.5) return [`partner_data=${token(random, 24)}`];
  if (roll < 0.7) return [`partner_data=%7B%22sub_id%22%3A%22${Math.floor(random() * 1e6)}%22%7D`];
  if (roll < 0.8) return [`cb=https%3A%2F%2Fpostback.example.net%2Fcb%3Fclick%3D${token(random, 12)}`];
  return [];
}

function queryFor(random: Random, linkId: number, os: WeightedAgent["mobileOs"]): string {
  const click = random() < 0.9 ? [`click=${token(random, 20)}`] : random() < 0.5 ? ["click="] : [];
  const parts = [...identifiers(random, os), ...click, ...partnerData(random), ...extras(random, linkId)];
  // Networks put their parameters in no particular order.
  for (let i = parts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [parts[i], parts[j]] = [parts[j] as string, parts[i] as string];
  }
  return parts.join("&");
}

/** The links to seed and the requests to send: every UA and every link appears at least once. */
export function buildTraffic(options: TrafficOptions = DEFAULT_TRAFFIC): Traffic {
  const random = seededRandom(options.seed);
  const links = Array.from({ length: options.links }, (_, i) => benchLink(FIRST_LINK_ID + i, random));
  const tailLinkId = FIRST_LINK_ID + options.links;
  links.push(benchLink(tailLinkId, random, TAIL_LOCATION));

  const browsers = browserAgents();
  const bots = crawlerAgents(options.crawlers, random);
  const totalWeight = browsers.reduce((sum, agent) => sum + agent.weight, 0);
  const weightedBrowser = (): WeightedAgent => {
    let left = random() * totalWeight;
    for (const agent of browsers) {
      left -= agent.weight;
      if (left <= 0) return agent;
    }
    return browsers[browsers.length - 1] as WeightedAgent;
  };

  const agents: WeightedAgent[] = [
    ...browsers,
    ...bots.map((userAgent) => ({ userAgent, weight: 0, mobileOs: undefined })),
  ];
  while (agents.length < options.requests) {
    agents.push(
      random() < options.crawlerShare
        ? { userAgent: pick(random, bots), weight: 0, mobileOs: undefined }
        : weightedBrowser(),
    );
  }
  // Shuffle, so that the first UAs seen are not all from one group.
  for (let i = agents.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [agents[i], agents[j]] = [agents[j] as WeightedAgent, agents[i] as WeightedAgent];
  }

  const mainLinks = links.slice(0, options.links);
  const requests = agents.map((agent, index) => {
    const link = index < mainLinks.length ? (mainLinks[index] as NewCampaignLink) : pick(random, mainLinks);
    return {
      path: `/click/${link.id}/go?${queryFor(random, link.id, agent.mobileOs)}`,
      userAgent: agent.userAgent,
    };
  });
  return {
    links,
    tailLinkId,
    requests,
    distinctUserAgents: new Set(requests.map((request) => request.userAgent)).size,
    distinctLinks: new Set(requests.map((request) => request.path.split("/")[2])).size,
  };
}

import { list as crawlerPatterns, createIsbotFromList } from "isbot";
import { UAParser } from "ua-parser-js";

/**
 * User-Agent → platform name, named as the kafkastore's device detector names it,
 * because attribution matches on lookup keys built from these names.
 */

// ua-parser-js 1.x name → the detector's name; any other OS is its own name in lower case.
const OS_NAMES: Record<string, string> = {
  iOS: "ios",
  Android: "android",
  "Mac OS": "mac",
  macOS: "mac",
  Windows: "windows",
  Linux: "gnu/linux",
  "Chrome OS": "chrome os",
  "Chromium OS": "chrome os",
  FreeBSD: "freebsd",
  AmigaOS: "amigaos",
};

/** Every platform name the detector gives for a well-known OS (others are a rarer OS's own name). */
export const KNOWN_PLATFORMS: readonly string[] = [...new Set(Object.values(OS_NAMES))];

// A bare device name is what some ad networks' server-to-server calls send; ua-parser-js finds no OS in it.
const BARE_IOS = /^(?:iphone|ipad|ipod)$/i;
const BARE_ANDROID = /^android$/i;

/**
 * Crawlers, by isbot's list: search engines, monitors, HTTP libraries and one-word agents, and the
 * link-preview fetchers that follow links pasted in a chat (Slack, Facebook and iMessage, X,
 * WhatsApp, Telegram, Discord, LinkedIn, Teams and Skype; test/click/platform.test.ts holds their
 * published User-Agents). Feed readers (`rss`) are people reading: the detector names their OS.
 */
const isCrawler = createIsbotFromList(crawlerPatterns.filter((pattern) => pattern !== "rss\\b"));

const parser = new UAParser();

function bareDevice(userAgent: string): string | undefined {
  if (BARE_IOS.test(userAgent)) return "ios";
  if (BARE_ANDROID.test(userAgent)) return "android";
  return undefined;
}

/** The platform of a User-Agent, uncached: "" for crawlers and UAs with no recognisable OS. */
export function detectPlatform(userAgent: string): string {
  const bare = bareDevice(userAgent);
  if (bare !== undefined) return bare;
  if (userAgent === "" || isCrawler(userAgent)) return "";
  const name = parser.setUA(userAgent).getOS().name;
  if (!name) return "";
  return OS_NAMES[name] ?? name.toLowerCase();
}

/** A request from no person: a crawler or link-preview fetcher, to which the detector gives no platform. */
export function isCrawlerAgent(userAgent: string): boolean {
  return userAgent !== "" && bareDevice(userAgent) === undefined && isCrawler(userAgent);
}

/** `detect` behind a bounded cache: ad traffic repeats a few thousand UAs over and over. */
function cachedByAgent<T>(detect: (userAgent: string) => T, maxEntries: number): (userAgent: string) => T {
  const cache = new Map<string, T>();
  return (userAgent) => {
    const cached = cache.get(userAgent);
    if (cached !== undefined) return cached;
    const found = detect(userAgent);
    if (cache.size >= maxEntries) {
      // Oldest first: Map keeps insertion order, so this is FIFO eviction in O(1).
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(userAgent, found);
    return found;
  };
}

/** `detectPlatform` behind a bounded cache. */
export function createPlatformDetector(maxEntries = 10_000): (userAgent: string) => string {
  return cachedByAgent(detectPlatform, maxEntries);
}

/** `isCrawlerAgent` behind a bounded cache. */
export function createCrawlerDetector(maxEntries = 10_000): (userAgent: string) => boolean {
  return cachedByAgent(isCrawlerAgent, maxEntries);
}

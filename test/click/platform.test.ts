import { describe, expect, test } from "bun:test";
import {
  createCrawlerDetector,
  createPlatformDetector,
  detectPlatform,
  isCrawlerAgent,
} from "../../src/click/platform";

// The names the kafkastore's device detector uses: attribution lookup keys are built from them.
const TABLE: Array<[string, string]> = [
  ["iPhone", "ios"],
  ["iPad", "ios"],
  ["iPod", "ios"],
  ["Android", "android"],
  ["Mozilla", ""],
  ["Chrome", ""],
  ["Banana", ""],
  ["", ""],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "ios",
  ],
  [
    "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "ios",
  ],
  ["MyApp/1.0 CFNetwork/1408.0.4 Darwin/22.5.0", "ios"],
  [
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
    "android",
  ],
  ["Dalvik/2.1.0 (Linux; U; Android 11; SM-G991B Build/RP1A.200720.012)", "android"],
  ["Windows-RSS-Platform/2.0 (MSIE 9.0; Windows NT 6.1)", "windows"],
  ["AmigaVoyager/3.2 (AmigaOS/MC680x0)", "amigaos"],
  ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10.8; rv:47.0) Gecko/20100101 Firefox/47.0", "mac"],
  [
    "Mozilla/5.0 (compatible; MSIE 9.0; AOL 9.7; AOLBuild 4343.19; Windows NT 6.1; WOW64; Trident/5.0; FunWebProducts)",
    "windows",
  ],
  [
    "Mozilla/5.0 (Windows; U; Windows NT 6.1; en-US; rv:1.9.2.3pre) Gecko/20100403 Lorentz/3.6.3plugin2pre (.NET CLR 4.0.20506)",
    "windows",
  ],
  [
    "Mozilla/5.0 (X11; FreeBSD i386) AppleWebKit/535.2 (KHTML, like Gecko) Chrome/15.0.874.121 Safari/535.2",
    "freebsd",
  ],
  [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "gnu/linux",
  ],
  [
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "chrome os",
  ],
  ["Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/119.0", "ubuntu"],
  ["Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/119.0", "fedora"],
  ["Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", ""],
  ["Mozilla/5.0 (compatible; DotBot/1.1; http://www.dotnetdotcom.org/, crawler@dotnetdotcom.org)", ""],
  ["Mozilla/5.0 (compatible; BeslistBot; nl; BeslistBot 1.0; http://www.beslist.nl/", ""],
  [
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "",
  ],
  ["curl/8.4.0", ""],
];

describe("detectPlatform", () => {
  for (const [userAgent, platform] of TABLE) {
    test(`${JSON.stringify(userAgent.slice(0, 70))} → ${JSON.stringify(platform)}`, () => {
      expect(detectPlatform(userAgent)).toBe(platform);
    });
  }
});

describe("createPlatformDetector", () => {
  test("answers as detectPlatform does, from its cache on repeats", () => {
    const detect = createPlatformDetector(4);
    for (const [userAgent, platform] of TABLE) {
      expect(detect(userAgent)).toBe(platform);
      expect(detect(userAgent)).toBe(platform);
    }
  });
});

// The User-Agents link-preview fetchers send, as their makers publish them (and as
// crawler-user-agents records them): a link pasted in a chat is fetched by one of these, not a person.
const PREVIEW_FETCHERS: Array<[string, string]> = [
  ["Slack", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"],
  ["Slack", "Slackbot 1.0 (+https://api.slack.com/robots)"],
  ["Slack", "Slack-ImgProxy (+https://api.slack.com/robots)"],
  ["Facebook", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"],
  ["Facebook", "facebookexternalhit/1.1"],
  ["Facebook", "facebookcatalog/1.0"],
  ["Facebook", "Facebot/1.0"],
  [
    "iMessage",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
  ],
  ["Twitter/X", "Twitterbot/1.0"],
  ["WhatsApp", "WhatsApp/2.23.18.78 i"],
  ["WhatsApp", "WhatsApp/2.19.92 i"],
  ["WhatsApp", "WhatsApp/2.16.57 A"],
  ["WhatsApp", "WhatsApp/2.12.15/i"],
  ["Telegram", "TelegramBot (like TwitterBot)"],
  ["Discord", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"],
  ["LinkedIn", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"],
  ["Teams/Skype", "SkypeUriPreview Preview/0.5"],
  ["Teams/Skype", "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5"],
  ["Teams/Outlook", "Mozilla/5.0 (compatible; MicrosoftPreview/2.0; +https://aka.ms/MicrosoftPreview)"],
];

// People, and what the detector names a platform although isbot calls it a bot (a bare device name).
const PEOPLE = [
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
  "Dalvik/2.1.0 (Linux; U; Android 11; SM-G991B Build/RP1A.200720.012)",
  "MyApp/1.0 CFNetwork/1408.0.4 Darwin/22.5.0",
  "Windows-RSS-Platform/2.0 (MSIE 9.0; Windows NT 6.1)",
  "iPhone",
  "Android",
  "",
];

describe("isCrawlerAgent", () => {
  for (const [product, userAgent] of PREVIEW_FETCHERS) {
    test(`${product}: ${JSON.stringify(userAgent.slice(0, 60))} is a crawler, with no platform`, () => {
      expect(isCrawlerAgent(userAgent)).toBe(true);
      expect(detectPlatform(userAgent)).toBe("");
    });
  }
  for (const userAgent of PEOPLE) {
    test(`${JSON.stringify(userAgent.slice(0, 60))} is a person`, () =>
      expect(isCrawlerAgent(userAgent)).toBe(false));
  }
  test("every crawler of the detector's table is one; the detector gives each no platform", () => {
    for (const [userAgent, platform] of TABLE) {
      if (isCrawlerAgent(userAgent)) expect(platform).toBe("");
    }
    expect(TABLE.filter(([userAgent]) => isCrawlerAgent(userAgent)).length).toBeGreaterThan(5);
  });
});

describe("createCrawlerDetector", () => {
  test("answers as isCrawlerAgent does, from its cache on repeats", () => {
    const isCrawler = createCrawlerDetector(4);
    for (const userAgent of [...PREVIEW_FETCHERS.map(([, agent]) => agent), ...PEOPLE]) {
      expect(isCrawler(userAgent)).toBe(isCrawlerAgent(userAgent));
      expect(isCrawler(userAgent)).toBe(isCrawlerAgent(userAgent));
    }
  });
});

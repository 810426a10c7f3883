import { describe, expect, test } from "bun:test";
import { createPlatformDetector, detectPlatform } from "../../src/click/platform";

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

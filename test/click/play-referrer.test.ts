import { describe, expect, test } from "bun:test";
import { isPlayListing, withPlayReferrer } from "../../src/click/play-referrer";
import { decodeFormComponent } from "../../src/click/query";

const ID = "019ac9a1-1f2e-7a3b-8c4d-5e6f7a8b9c0d";
const PLAY = "https://play.google.com/store/apps/details";
const REF = `referrer=click_id%3D${ID}`;

describe("withPlayReferrer", () => {
  const table: Array<[string, string, string]> = [
    [
      "no referrer: appended as the last parameter",
      `${PLAY}?id=com.example`,
      `${PLAY}?id=com.example&${REF}`,
    ],
    ["no query at all", PLAY, `${PLAY}?${REF}`],
    ["an empty query", `${PLAY}?`, `${PLAY}?${REF}`],
    ["a query ending in &", `${PLAY}?id=x&`, `${PLAY}?id=x&${REF}`],
    ["parameters before and after", `${PLAY}?id=x&hl=de&gl=DE`, `${PLAY}?id=x&hl=de&gl=DE&${REF}`],
    ["a fragment stays at the end", `${PLAY}?id=x#reviews`, `${PLAY}?id=x&${REF}#reviews`],
    ["a fragment without a query", `${PLAY}#reviews`, `${PLAY}?${REF}#reviews`],
    [
      "the advertiser's referrer keeps its content, click_id appended inside, encoded once",
      `${PLAY}?id=x&referrer=utm_source%3Dadnet%26utm_campaign%3Dspring`,
      `${PLAY}?id=x&referrer=utm_source%3Dadnet%26utm_campaign%3Dspring%26click_id%3D${ID}`,
    ],
    [
      "a referrer between other parameters keeps its place, and so do they",
      `${PLAY}?hl=de&referrer=utm_source%3Dadnet&id=x&gl=DE#top`,
      `${PLAY}?hl=de&referrer=utm_source%3Dadnet%26click_id%3D${ID}&id=x&gl=DE#top`,
    ],
    [
      "a click_id already in the referrer is replaced where it stands, not doubled",
      `${PLAY}?id=x&referrer=click_id%3Dold%26utm_source%3Dadnet`,
      `${PLAY}?id=x&referrer=click_id%3D${ID}%26utm_source%3Dadnet`,
    ],
    [
      "a second click_id in the referrer is dropped",
      `${PLAY}?referrer=a%3D1%26click_id%3Dold%26b%3D2%26click_id%3Dolder&id=x`,
      `${PLAY}?referrer=a%3D1%26click_id%3D${ID}%26b%3D2&id=x`,
    ],
    ["an empty referrer", `${PLAY}?id=x&referrer=&hl=de`, `${PLAY}?id=x&${REF}&hl=de`],
    ["a referrer without =", `${PLAY}?id=x&referrer&hl=de`, `${PLAY}?id=x&${REF}&hl=de`],
    [
      "the referrer's own encoding is decoded once and encoded once: + is a space, %2B a plus",
      `${PLAY}?id=x&referrer=utm_term%3Da+b%26utm_content%3Dc%252Bd%26n%3D%C3%BC`,
      `${PLAY}?id=x&referrer=utm_term%3Da%20b%26utm_content%3Dc%252Bd%26n%3D%C3%BC%26click_id%3D${ID}`,
    ],
    [
      "only the first referrer parameter is the referrer",
      `${PLAY}?referrer=a%3D1&referrer=b%3D2`,
      `${PLAY}?referrer=a%3D1%26click_id%3D${ID}&referrer=b%3D2`,
    ],
    ["& in the fragment is not a parameter", `${PLAY}?id=x#a&referrer=y`, `${PLAY}?id=x&${REF}#a&referrer=y`],
    ["market://details", "market://details?id=com.example", `market://details?id=com.example&${REF}`],
    [
      "market://details with a referrer",
      "market://details?id=x&referrer=utm_source%3Dadnet",
      `market://details?id=x&referrer=utm_source%3Dadnet%26click_id%3D${ID}`,
    ],
    [
      "scheme and host in any case",
      "HTTPS://Play.Google.COM/store/apps/details?id=x",
      `HTTPS://Play.Google.COM/store/apps/details?id=x&${REF}`,
    ],
    ["MARKET://details", "MARKET://details?id=x", `MARKET://details?id=x&${REF}`],
  ];
  for (const [name, target, location] of table) {
    test(name, () => {
      expect(isPlayListing(target)).toBe(true);
      expect(withPlayReferrer(target, ID)).toBe(location);
    });
  }

  test("what Play hands the app: the advertiser's referrer and the click id", () => {
    const location = withPlayReferrer(`${PLAY}?id=x&referrer=utm_source%3Dadnet%26utm_campaign%3Dspring`, ID);
    const referrer = new URL(location).searchParams.get("referrer");
    expect(referrer).toBe(`utm_source=adnet&utm_campaign=spring&click_id=${ID}`);
    expect(new URLSearchParams(referrer ?? "").get("click_id")).toBe(ID);
  });

  const notListings = [
    "https://play.google.com.evil.test/store/apps/details?id=x",
    "https://notplay.google.com/store/apps/details?id=x",
    "https://play.google.com@evil.test/store/apps/details?id=x",
    "https://play.google.com:443/store/apps/details?id=x",
    "http://play.google.com/store/apps/details?id=x",
    "https://play.google.com/store/apps/detailsx?id=x",
    "https://play.google.com/store/apps/details/x?id=x",
    "https://play.google.com/store/apps/dev?id=x",
    "https://play.google.com/STORE/apps/details?id=x",
    "https://play.google.com",
    "market://search?q=x",
    "market://detailsx?id=x",
    "https://evil.test/?u=https://play.google.com/store/apps/details?id=x",
    "https://apps.apple.com/app/id1",
    "itms-apps://apps.apple.com/app/id1",
    "",
  ];
  for (const target of notListings) {
    test(`leaves ${JSON.stringify(target)} exactly as it is`, () => {
      expect(isPlayListing(target)).toBe(false);
      expect(withPlayReferrer(target, ID)).toBe(target);
    });
  }

  test("the referrer value decodes back to the inner query, whatever the advertiser put in it", () => {
    for (const inner of ["a=1", "a=%C3%BC&b=c%26d", "x=y z", "click_id=1&click_id=2", "&&", "="]) {
      const location = withPlayReferrer(`${PLAY}?referrer=${encodeURIComponent(inner)}`, ID);
      const value = location.slice(location.indexOf("referrer=") + "referrer=".length);
      const decoded = decodeFormComponent(value);
      expect(decoded.split("&").filter((pair) => pair.startsWith("click_id="))).toEqual([`click_id=${ID}`]);
    }
  });
});

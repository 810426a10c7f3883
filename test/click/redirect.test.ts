import { describe, expect, test } from "bun:test";
import { liveTarget, resolveRedirect } from "../../src/click/redirect";
import type { CampaignLink } from "../../src/db/schema";
import { linkRow } from "../support/links";

function withTargets(targetUrl: Record<string, string>): CampaignLink {
  return linkRow({ id: 1, targetUrl });
}

describe("resolveRedirect", () => {
  test("platform, else default, else fallback", () => {
    const link = withTargets({ ios: "https://i", default: "https://d", fallback: "https://f" });
    expect(resolveRedirect(link, "ios")).toBe("https://i");
    expect(resolveRedirect(link, "android")).toBe("https://d");
    expect(resolveRedirect(link, "")).toBe("https://d");
    expect(resolveRedirect(withTargets({ fallback: "https://f" }), "ios")).toBe("https://f");
    expect(resolveRedirect(withTargets({}), "ios")).toBeUndefined();
  });

  test("a platform named like an Object member does not resolve to it", () => {
    expect(resolveRedirect(withTargets({}), "constructor")).toBeUndefined();
    expect(resolveRedirect(withTargets({ default: "https://d" }), "__proto__")).toBe("https://d");
  });
});

describe("liveTarget: where a click goes when its target is dead", () => {
  const link = withTargets({ ios: "https://i", default: "https://d", fallback: "https://f" });
  const deadOnes =
    (...urls: string[]) =>
    (url: string) =>
      urls.includes(url);

  test.each([
    [[], "https://i"],
    [["https://i"], "https://d"],
    [["https://i", "https://d"], "https://f"],
    [["https://i", "https://f"], "https://d"],
    [["https://i", "https://d", "https://f"], "https://i"],
  ])("dead %p → %s", (dead, expected) => {
    expect(liveTarget(link, "https://i", deadOnes(...dead))).toBe(expected);
  });

  test("a dead default goes to the fallback; a link without alternatives keeps its target", () => {
    expect(liveTarget(link, "https://d", deadOnes("https://d"))).toBe("https://f");
    const alone = withTargets({ ios: "https://i" });
    expect(liveTarget(alone, "https://i", deadOnes("https://i"))).toBe("https://i");
  });
});

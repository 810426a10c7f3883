import { describe, expect, test } from "bun:test";
import { resolveRedirect } from "../../src/click/redirect";
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

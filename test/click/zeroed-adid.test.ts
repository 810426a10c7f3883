import { describe, expect, test } from "bun:test";
import { createClickComposer } from "../../src/click/click";
import { detectPlatform } from "../../src/click/platform";
import { parseEvent } from "../support/consumer";
import { linkRow } from "../support/links";

const NOW = Date.parse("2026-11-28T06:10:56.789Z");
const CLICK_ID = "019ac9a1-1f2e-7a3b-8c4d-5e6f7a8b9c0d";
const IP = "203.0.113.9";
const AGENTS = {
  ios: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15",
  android: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
} as const;

const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
const ZERO_UNDASHED = "0".repeat(32);
const ZERO_MD5 = "0".repeat(32);
const ZERO_SHA1 = "0".repeat(40);
const UUID = "44566636-6BC5-48DE-B4AE-7DF9DF06B356";
const MIXED_CASE_UUID = "44566636-6bc5-48DE-b4ae-7DF9DF06B356";
const MD5 = "EB2E4EBE9bf98f8c92EFC5F2CB468B18";
const SHA1 = "Eb2e4ebe9BF98F8C92EFC5F2CB468B18EB2EEB2E";

const IDFA_WINDOW = 1440;
const FINGERPRINT_WINDOW = 60;
const link = linkRow({
  id: 42,
  network: "adnet",
  attributionWindowIdfa: IDFA_WINDOW,
  attributionWindowFingerprint: FINGERPRINT_WINDOW,
  targetUrl: { default: "https://example.com/" },
});

const options = { detectPlatform, notFoundUrl: undefined, newClickId: () => CLICK_ID };
const original = createClickComposer(options);
const keep = createClickComposer({ ...options, zeroedAdid: "keep" });
const fingerprint = createClickComposer({ ...options, zeroedAdid: "fingerprint" });

function md5(text: string): string {
  return new Bun.CryptoHasher("md5").update(text).digest("hex");
}

function compose(composer: typeof keep, rawQuery: string, platform: keyof typeof AGENTS) {
  const click = composer(link, { rawQuery, ip: IP, userAgent: AGENTS[platform], nowMs: NOW });
  return { click, event: parseEvent(click.event) };
}

interface Row {
  query: string;
  platform: keyof typeof AGENTS;
  /** `adid` as written, in both modes. */
  adid: string | null;
  zeroed: boolean;
  /** idfa_comb with ZEROED_ADID=keep (the original's); null: bare. */
  keep: string | null;
  /** idfa_comb with ZEROED_ADID=fingerprint; null: bare. */
  fingerprint: string | null;
  /** With fingerprint: nothing usable besides the zeros. */
  invalidWithoutZeros?: boolean;
}

const ROWS: Row[] = [
  {
    query: `adid=${ZERO_UUID}`,
    platform: "ios",
    adid: ZERO_UUID,
    zeroed: true,
    keep: ZERO_UUID,
    fingerprint: null,
  },
  {
    query: `idfa=${ZERO_UUID}`,
    platform: "ios",
    adid: ZERO_UUID,
    zeroed: true,
    keep: ZERO_UUID,
    fingerprint: null,
  },
  {
    query: `gadid=${ZERO_UUID}`,
    platform: "android",
    adid: ZERO_UUID,
    zeroed: true,
    keep: ZERO_UUID,
    fingerprint: null,
  },
  {
    query: `adid=${ZERO_UNDASHED}`,
    platform: "ios",
    adid: ZERO_UUID,
    zeroed: true,
    keep: ZERO_UUID,
    fingerprint: null,
  },
  {
    query: `idfa=${ZERO_UNDASHED}`,
    platform: "ios",
    adid: ZERO_UUID,
    zeroed: true,
    keep: ZERO_UUID,
    fingerprint: null,
  },
  {
    query: `gadid=${ZERO_UNDASHED}`,
    platform: "android",
    adid: ZERO_UUID,
    zeroed: true,
    keep: ZERO_UUID,
    fingerprint: null,
  },
  {
    query: `adid=%20&gadid=${ZERO_UUID}`,
    platform: "android",
    adid: ZERO_UUID,
    zeroed: true,
    keep: ZERO_UUID,
    fingerprint: null,
  },
  {
    query: `idfa_md5=${ZERO_MD5}`,
    platform: "ios",
    adid: null,
    zeroed: true,
    keep: ZERO_MD5,
    fingerprint: null,
  },
  {
    query: `idfa_sha1=${ZERO_SHA1}`,
    platform: "ios",
    adid: null,
    zeroed: true,
    keep: ZERO_SHA1,
    fingerprint: null,
  },
  {
    query: `idfa=${ZERO_UUID}&idfa_md5=${ZERO_MD5}&idfa_sha1=${ZERO_SHA1}`,
    platform: "ios",
    adid: ZERO_UUID,
    zeroed: true,
    keep: ZERO_UUID,
    fingerprint: null,
  },
  // A zero id beside a real one (in mixed case): the real one is the device id.
  {
    query: `idfa=${ZERO_UUID}&idfa_md5=${MD5}`,
    platform: "ios",
    adid: ZERO_UUID,
    zeroed: true,
    keep: ZERO_UUID,
    fingerprint: MD5.toLowerCase(),
  },
  {
    query: `idfa_md5=${ZERO_MD5}&idfa_sha1=${SHA1}`,
    platform: "ios",
    adid: null,
    zeroed: true,
    keep: ZERO_MD5,
    fingerprint: SHA1.toLowerCase(),
  },
  {
    query: `idfa=${MIXED_CASE_UUID}&idfa_md5=${ZERO_MD5}`,
    platform: "ios",
    adid: UUID,
    zeroed: false,
    keep: UUID,
    fingerprint: UUID,
  },
  {
    query: `gadid=${MIXED_CASE_UUID.replaceAll("-", "")}&idfa_sha1=${ZERO_SHA1}`,
    platform: "android",
    adid: UUID,
    zeroed: false,
    keep: UUID,
    fingerprint: UUID,
  },
  // A zero id beside something unusable: no device id, and the click is flagged as the original flags it.
  {
    query: `idfa=${ZERO_UUID}&idfa_md5=short`,
    platform: "ios",
    adid: ZERO_UUID,
    zeroed: true,
    keep: ZERO_UUID,
    fingerprint: null,
    invalidWithoutZeros: true,
  },
  // Near zero is not zero.
  {
    query: "idfa=00000000-0000-0000-0000-00000000000a",
    platform: "ios",
    adid: "00000000-0000-0000-0000-00000000000A",
    zeroed: false,
    keep: "00000000-0000-0000-0000-00000000000A",
    fingerprint: "00000000-0000-0000-0000-00000000000A",
  },
  { query: "", platform: "ios", adid: null, zeroed: false, keep: null, fingerprint: null },
];

function tillFor(comb: string | null): string {
  const minutes = comb === null ? FINGERPRINT_WINDOW : IDFA_WINDOW;
  return new Date(Math.floor(NOW / 1000) * 1000 + minutes * 60_000).toISOString().replace(".000Z", "+00:00");
}

function lookupKeyFor(comb: string | null, platform: string): string {
  return md5((comb ?? `${IP}.${platform}`).toLowerCase());
}

describe("ZEROED_ADID", () => {
  for (const row of ROWS) {
    test(`keep: ${row.query || "(none)"} is the original's event`, () => {
      const { click, event } = compose(keep, row.query, row.platform);
      expect(click.event).toBe(compose(original, row.query, row.platform).click.event);
      expect(click.zeroedAdid).toBe(row.zeroed);
      expect(click.invalidIdfa).toBe(false);
      expect(event.params.get("adid")).toBe(row.adid);
      expect(event.params.get("idfa_comb")).toBe(row.keep);
      expect(event.params.get("lookup_key")).toBe(lookupKeyFor(row.keep, row.platform));
      expect(event.params.get("attr_window_till")).toBe(tillFor(row.keep));
    });

    test(`fingerprint: ${row.query || "(none)"}`, () => {
      const { click, event } = compose(fingerprint, row.query, row.platform);
      expect(click.zeroedAdid).toBe(row.zeroed);
      expect(click.invalidIdfa).toBe(row.invalidWithoutZeros ?? false);
      expect(event.params.get("adid")).toBe(row.adid);
      expect(event.params.get("idfa_comb")).toBe(row.fingerprint);
      expect(event.params.get("lookup_key")).toBe(lookupKeyFor(row.fingerprint, row.platform));
      expect(event.params.get("attr_window_till")).toBe(tillFor(row.fingerprint));
      if (!row.zeroed) expect(click.event).toBe(compose(original, row.query, row.platform).click.event);
    });
  }

  test("keep writes the zeroed click byte for byte as the original did", () => {
    expect(compose(keep, `idfa=${ZERO_UNDASHED}&click=c1`, "ios").click.event).toBe(
      `${IP} 1795846256 clicks /t/click ad&adgroup&adid=${ZERO_UUID}` +
        "&attr_window_from=2026-11-28T06%3A10%3A56%2B00%3A00" +
        "&attr_window_till=2026-11-29T06%3A10%3A56%2B00%3A00" +
        `&campaign&campaign_link_id=42&click=c1&click_id=${CLICK_ID}` +
        "&created_at=2026-11-28T06%3A10%3A56%2B00%3A00" +
        `&idfa_comb=${ZERO_UUID}&lookup_key=9f89c84a559f573636a47ff8daed0d33` +
        "&network=adnet&partner_data&redirect_url=https%3A%2F%2Fexample.com%2F&reqparams=&user_id " +
        AGENTS.ios,
    );
  });

  test("fingerprint writes the same click as one without a device id, adid as sent", () => {
    expect(compose(fingerprint, `idfa=${ZERO_UNDASHED}&click=c1`, "ios").click.event).toBe(
      `${IP} 1795846256 clicks /t/click ad&adgroup&adid=${ZERO_UUID}` +
        "&attr_window_from=2026-11-28T06%3A10%3A56%2B00%3A00" +
        "&attr_window_till=2026-11-28T07%3A10%3A56%2B00%3A00" +
        `&campaign&campaign_link_id=42&click=c1&click_id=${CLICK_ID}` +
        "&created_at=2026-11-28T06%3A10%3A56%2B00%3A00" +
        "&idfa_comb&lookup_key=b563fb08137ec8a302c4a27ebf51ef35" +
        "&network=adnet&partner_data&redirect_url=https%3A%2F%2Fexample.com%2F&reqparams=&user_id " +
        AGENTS.ios,
    );
  });
});

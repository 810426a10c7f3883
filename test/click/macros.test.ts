import { describe, expect, test } from "bun:test";
import { encodeComponent } from "../../src/click/encoding";
import type { ClickFields } from "../../src/click/event";
import {
  expandTemplate,
  FIELD_MACROS,
  type MacroSource,
  macroProblem,
  parseTemplate,
  type Template,
  templateOf,
  withEmptyMacros,
} from "../../src/click/macros";
import { linkRow } from "../support/links";

const ID = "019ac9a1-1f2e-7a3b-8c4d-5e6f7a8b9c0d";
const UUID = "44566636-6BC5-48DE-B4AE-7DF9DF06B356";

const link = linkRow({
  id: 42,
  campaign: "spring sale",
  adgroup: "g&1",
  ad: "ad=1",
  network: "Ünïcödé #1",
});

const fields: ClickFields = {
  adid: UUID,
  attrWindowFrom: "2026-11-28T06:10:56+00:00",
  attrWindowTill: "2026-11-29T06:10:56+00:00",
  click: "c 1&x=y#z%",
  clickId: ID,
  createdAt: "2026-11-28T06:10:56+00:00",
  idfaComb: UUID,
  lookupKey: "eb2e4ebe9bf98f8c92efc5f2cb468b18",
  partnerData: "pd/1",
  redirectUrl: undefined,
  redirectEncoded: undefined,
  reqparams: "",
};

const source: MacroSource = {
  link,
  fields,
  platform: "android",
  unixSeconds: 1795846256,
  rawQuery: "sub1=a+b&sub2=%C3%BC%26%3D%23%25&sub1=second&empty=&bare&caf%C3%A9=yes&x+y=1",
};

function expand(url: string, from: MacroSource = source): string {
  const template = parseTemplate(url);
  if (template === undefined) return url;
  const expanded = expandTemplate(template, from);
  // Built in pieces, the event's value must be the Location encoded whole.
  expect(expanded.encoded).toBe(encodeComponent(expanded.url));
  return expanded.url;
}

describe("macros", () => {
  const every: Array<[string, string]> = [
    ["{click_id}", ID],
    ["{adid}", UUID],
    ["{idfa_comb}", UUID],
    ["{lookup_key}", "eb2e4ebe9bf98f8c92efc5f2cb468b18"],
    ["{platform}", "android"],
    ["{campaign_link_id}", "42"],
    ["{campaign}", "spring%20sale"],
    ["{adgroup}", "g%261"],
    ["{ad}", "ad%3D1"],
    ["{network}", "%C3%9Cn%C3%AFc%C3%B6d%C3%A9%20%231"],
    ["{click}", "c%201%26x%3Dy%23z%25"],
    ["{partner_data}", "pd%2F1"],
    ["{created_at}", "2026-11-28T06%3A10%3A56%2B00%3A00"],
    ["{unix}", "1795846256"],
    // sub1 is sent twice: the first value counts.
    ["{q:sub1}", "a%20b"],
    ["{q:sub2}", "%C3%BC%26%3D%23%25"],
    ["{q:empty}", ""],
    ["{q:bare}", ""],
    ["{q:missing}", ""],
    ["{q:caf%C3%A9}", "yes"],
    ["{q:x+y}", "1"],
  ];
  for (const [macro, value] of every) {
    test(`${macro} is ${JSON.stringify(value)}`, () => {
      expect(expand(`https://lp.example/x?v=${macro}&k=1`)).toBe(`https://lp.example/x?v=${value}&k=1`);
    });
  }

  test("every field macro is in the table above", () => {
    expect(FIELD_MACROS.filter((name) => !every.some(([macro]) => macro === `{${name}}`))).toEqual([]);
  });

  test("a missing value is empty", () => {
    const bare = linkRow({ id: 1 });
    const empty: MacroSource = {
      link: bare,
      fields: { ...fields, adid: undefined, idfaComb: undefined, click: undefined, partnerData: undefined },
      platform: "",
      unixSeconds: 0,
      rawQuery: "",
    };
    expect(
      expand(
        "https://x/?a={adid}&b={idfa_comb}&c={click}&d={partner_data}&e={campaign}&f={adgroup}&g={ad}&h={network}&i={platform}&j={q:sub1}",
        empty,
      ),
    ).toBe("https://x/?a=&b=&c=&d=&e=&f=&g=&h=&i=&j=");
  });

  test("macros anywhere, several, repeated, next to each other", () => {
    expect(expand("https://x/{campaign_link_id}/{platform}{unix}?c={click_id}&again={click_id}#{ad}")).toBe(
      `https://x/42/android1795846256?c=${ID}&again=${ID}#ad%3D1`,
    );
  });

  test("braces that are not macros are left alone", () => {
    for (const url of [
      "https://x/?json={%22a%22:1}",
      "https://x/?a={Click_ID}",
      "https://x/?a={1abc}",
      "https://x/?a={}",
      "https://x/?a={not-a-macro}",
      "https://x/?a={click_id",
      "https://x/?a=click_id}",
    ]) {
      expect(parseTemplate(url)).toBeUndefined();
      expect(expand(url)).toBe(url);
    }
    expect(expand("https://x/?a={{click_id}}&b={x-y}")).toBe(`https://x/?a={${ID}}&b={x-y}`);
    expect(expand("https://x/?a={unknown}&b={click_id}")).toBe(`https://x/?a={unknown}&b=${ID}`);
  });

  test("a target without macros has no template", () => {
    expect(parseTemplate("https://example.com/landing?utm_source=x")).toBeUndefined();
  });

  test("every macro empty, for checks made before any click", () => {
    expect(withEmptyMacros("https://x/{campaign}/?c={click_id}&s={q:sub1}&j={%22a%22}")).toBe(
      "https://x//?c=&s=&j={%22a%22}",
    );
    expect(withEmptyMacros("https://x/plain")).toBe("https://x/plain");
  });

  test("the link's own values, written in once per link, give the same Location and encoding", () => {
    const url = `https://x/${every.map(([macro]) => macro).join("/")}?n={network}#{ad}`;
    const bound = templateOf(link, url);
    expect(bound?.macros.length).toBeLessThan(parseTemplate(url)?.macros.length ?? 0);
    expect(bound && expandTemplate(bound, source)).toEqual(
      expandTemplate(parseTemplate(url) as Template, source),
    );
    const onlyLink = templateOf(link, "https://x/{campaign}/{campaign_link_id}");
    expect(onlyLink?.macros).toEqual([]);
    expect(onlyLink && expandTemplate(onlyLink, source).url).toBe("https://x/spring%20sale/42");
  });

  test("parsed once per link object and target", () => {
    const url = "https://x/?c={click_id}";
    const first = templateOf(link, url);
    expect(first).toBeDefined();
    expect(templateOf(link, url)).toBe(first as NonNullable<typeof first>);
    expect(templateOf({ ...link }, url)).not.toBe(first as NonNullable<typeof first>);
    expect(templateOf(link, "https://x/")).toBeUndefined();
  });
});

describe("macroProblem", () => {
  test("known macros, q:NAME and braces that are no macro are fine", () => {
    for (const url of [
      "https://x/?a={click_id}&b={q:sub1}&c={q:Any-Name.1}",
      ...FIELD_MACROS.map((name) => `https://x/?v={${name}}`),
      "https://x/?json={%22a%22:1}&u={Upper}&d={1x}&e={}&f={a-b}",
      "https://x/plain",
    ]) {
      expect(macroProblem(url)).toBeUndefined();
    }
  });

  test("a token that looks like a macro but is none is named", () => {
    for (const [url, token] of [
      ["https://x/?a={clickid}", "{clickid}"],
      ["https://x/?a={click_id}&b={idfa}", "{idfa}"],
      ["https://x/?a={_x}", "{_x}"],
      ["https://x/?a={sub_1}", "{sub_1}"],
      ["https://x/?a={q:}", "{q:}"],
    ] as const) {
      expect(macroProblem(url)).toStartWith(`has an unknown macro ${token} (macros: {click_id}, {adid}`);
    }
  });
});

import type { CampaignLink } from "../db/schema";
import { encodeComponent } from "./encoding";
import type { ClickFields } from "./event";
import { perLinkUrl } from "./link-cache";
import { decodeFormComponent, firstValue } from "./query";

/**
 * Macros in a link's target URLs, replaced per click by that click's values: `{click_id}`,
 * `{campaign}`, …, and `{q:NAME}` for the click's query parameter NAME. Each value is what the
 * event carries for that field, encoded as one query component the way the event encodes it.
 */

export const FIELD_MACROS = [
  "click_id",
  "adid",
  "idfa_comb",
  "lookup_key",
  "platform",
  "campaign_link_id",
  "campaign",
  "adgroup",
  "ad",
  "network",
  "click",
  "partner_data",
  "created_at",
  "unix",
] as const;
type FieldMacro = (typeof FIELD_MACROS)[number];

const FIELD_MACRO_NAMES: ReadonlySet<string> = new Set(FIELD_MACROS);
const QUERY_PREFIX = "q:";
const TOKEN = /\{([^{}]*)\}/g;
// What the inside of a token looks like when it was meant as a macro.
const MACRO_LIKE = /^[a-z_][a-z0-9_]*$/;

type Macro = { kind: "field"; name: FieldMacro } | { kind: "query"; parameter: string };

/** A target split at its macros: `literals[0] macro[0] literals[1] … literals[n]`. */
export interface Template {
  literals: string[];
  /** Each literal encoded as the event encodes redirect_url, so the event's value is built in pieces too. */
  encodedLiterals: string[];
  macros: Macro[];
}

/** A target with this click's values: the Location, and the same URL encoded as one component. */
export interface Expanded {
  url: string;
  encoded: string;
}

/** What a click gives its macros. */
export interface MacroSource {
  link: CampaignLink;
  fields: ClickFields;
  platform: string;
  unixSeconds: number;
  /** The request's query as sent: `{q:NAME}` takes the first value of NAME. */
  rawQuery: string;
}

function macroOf(inside: string): Macro | undefined {
  if (FIELD_MACRO_NAMES.has(inside)) return { kind: "field", name: inside as FieldMacro };
  if (inside.length > QUERY_PREFIX.length && inside.startsWith(QUERY_PREFIX)) {
    return { kind: "query", parameter: decodeFormComponent(inside.slice(QUERY_PREFIX.length)) };
  }
  return undefined;
}

type LinkMacro = "campaign_link_id" | "campaign" | "adgroup" | "ad" | "network";
const LINK_MACROS: ReadonlySet<string> = new Set<LinkMacro>([
  "campaign_link_id",
  "campaign",
  "adgroup",
  "ad",
  "network",
]);

function linkValue(name: LinkMacro, link: CampaignLink): string | null {
  switch (name) {
    case "campaign_link_id":
      return String(link.id);
    case "campaign":
      return link.campaign;
    case "adgroup":
      return link.adgroup;
    case "ad":
      return link.ad;
    case "network":
      return link.network;
  }
}

/**
 * The target's macros; undefined when it has none. A token that is no macro stays as it is. With
 * the link, its own values (the same for every click) are written into the literals here.
 */
export function parseTemplate(url: string, link?: CampaignLink): Template | undefined {
  if (!url.includes("{")) return undefined;
  const literals: string[] = [];
  const macros: Macro[] = [];
  let literal = "";
  let last = 0;
  let found = false;
  for (const match of url.matchAll(TOKEN)) {
    const macro = macroOf(match[1] as string);
    if (macro === undefined) continue;
    found = true;
    literal += url.slice(last, match.index);
    last = match.index + match[0].length;
    if (link !== undefined && macro.kind === "field" && LINK_MACROS.has(macro.name)) {
      literal += encodeComponent(linkValue(macro.name as LinkMacro, link) ?? "");
    } else {
      literals.push(literal);
      literal = "";
      macros.push(macro);
    }
  }
  if (!found) return undefined;
  literals.push(literal + url.slice(last));
  return { literals, encodedLiterals: literals.map(encodeComponent), macros };
}

/** Parsed once per link object and target, not once per click. */
export const templateOf = perLinkUrl(parseTemplate);

function fieldValue(name: FieldMacro, source: MacroSource): string | null | undefined {
  switch (name) {
    case "click_id":
      return source.fields.clickId;
    case "adid":
      return source.fields.adid;
    case "idfa_comb":
      return source.fields.idfaComb;
    case "lookup_key":
      return source.fields.lookupKey;
    case "platform":
      return source.platform;
    case "click":
      return source.fields.click;
    case "partner_data":
      return source.fields.partnerData;
    case "created_at":
      return source.fields.createdAt;
    case "unix":
      return String(source.unixSeconds);
    default:
      return linkValue(name, source.link);
  }
}

/**
 * The target with every macro replaced by this click's value (a missing value is empty). The URL is
 * ASCII, so encoding it piece by piece gives the same bytes as encoding it whole, for less.
 */
export function expandTemplate(template: Template, source: MacroSource): Expanded {
  const { literals, encodedLiterals, macros } = template;
  let url = literals[0] as string;
  let encoded = encodedLiterals[0] as string;
  for (let i = 0; i < macros.length; i++) {
    const macro = macros[i] as Macro;
    const raw =
      macro.kind === "field" ? fieldValue(macro.name, source) : firstValue(source.rawQuery, macro.parameter);
    const value = encodeComponent(raw ?? "");
    url += `${value}${literals[i + 1]}`;
    encoded += `${encodeComponent(value)}${encodedLiterals[i + 1]}`;
  }
  return { url, encoded };
}

/** The target with every macro empty: what a target with macros is, before any click. */
export function withEmptyMacros(url: string): string {
  return parseTemplate(url)?.literals.join("") ?? url;
}

const KNOWN = `${FIELD_MACROS.map((name) => `{${name}}`).join(", ")}, {q:NAME}`;

/** Why a target cannot be saved: a token that looks like a macro but is none. Undefined when fine. */
export function macroProblem(url: string): string | undefined {
  for (const match of url.matchAll(TOKEN)) {
    const inside = match[1] as string;
    if (macroOf(inside) !== undefined) continue;
    if (MACRO_LIKE.test(inside) || inside.startsWith(QUERY_PREFIX)) {
      return `has an unknown macro ${match[0]} (macros: ${KNOWN})`;
    }
  }
  return undefined;
}

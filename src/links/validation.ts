import { z } from "zod";
import { macroProblem } from "../click/macros";
import type { NewCampaignLink } from "../db/schema";
import { textProblem } from "./text";
import { urlProblem } from "./url";

const MAX_INT = 2147483647;
/** A target URL ends up in a Location header, which proxies and browsers limit to about 8 KiB. */
const MAX_TARGET_URL_LENGTH = 8192;
const MAX_TARGET_KEY_LENGTH = 64;

const redirectUrl = z
  .string({ message: "must be a URL string" })
  .max(MAX_TARGET_URL_LENGTH, { message: `must be at most ${MAX_TARGET_URL_LENGTH} characters` })
  .superRefine((value, context) => {
    const problem = urlProblem(value);
    if (problem) context.addIssue({ code: "custom", message: problem });
  });

// A target may hold macros, replaced per click; a misspelt one is refused rather than sent as it is.
const targetValue = redirectUrl.superRefine((value, context) => {
  const problem = macroProblem(value);
  if (problem) context.addIssue({ code: "custom", message: problem });
});

// Keys that would reach an object's prototype if anything ever copied the map naively.
const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);

// Checked on the parsed JSON, before zod: zod drops a `__proto__` key without a word, and a key
// the API refuses must be refused, not quietly lost.
const targetUrl = z
  .unknown()
  .superRefine((value, context) => {
    if (typeof value !== "object" || value === null) return;
    for (const key of Object.keys(value)) {
      const problem = key.length === 0 ? "must not be empty" : textProblem(key, MAX_TARGET_KEY_LENGTH);
      if (RESERVED_KEYS.has(key) || problem) {
        const why = problem ? `: ${problem}` : "";
        context.addIssue({ code: "custom", message: `has an invalid key ${JSON.stringify(key)}${why}` });
      }
    }
  })
  .pipe(z.record(z.string(), targetValue, { message: "must be an object of platform → URL strings" }));

const text = z
  .string({ message: "must be a string" })
  .superRefine((value, context) => {
    const problem = textProblem(value);
    if (problem) context.addIssue({ code: "custom", message: problem });
  })
  .nullish();
const minutes = z
  .number({ message: "must be a whole number of minutes" })
  .int({ message: "must be a whole number of minutes" })
  .min(0, { message: "must not be negative" })
  .max(MAX_INT, { message: "is too large" })
  .nullish();

const linkSchema = z.object({
  id: z
    .number({ message: "is required and must be an integer" })
    .int({ message: "must be an integer" })
    .min(1, { message: "must be positive" })
    .max(MAX_INT, { message: "is too large" }),
  campaign: text,
  adgroup: text,
  ad: text,
  network: text,
  country: text,
  device: text,
  campaign_url: z
    .string({ message: "must be a string" })
    .max(1024, { message: "must be at most 1024 characters" })
    .pipe(redirectUrl)
    .nullish(),
  target_url: targetUrl.nullish(),
  attribution_window_fingerprint: minutes,
  attribution_window_idfa: minutes,
  user_id: z
    .number({ message: "must be an integer" })
    .int({ message: "must be an integer" })
    .min(-MAX_INT - 1, { message: "is too small" })
    .max(MAX_INT, { message: "is too large" })
    .nullish(),
});

type Invalid = { ok: false; field: string; message: string };
export type LinkValidation = { ok: true; link: NewCampaignLink & { id: number } } | Invalid;

function parseJson(raw: string): { ok: true; json: unknown } | Invalid {
  try {
    return { ok: true, json: JSON.parse(raw) };
  } catch {
    return { ok: false, field: "campaign_link", message: "is not valid JSON" };
  }
}

function firstIssue(error: z.ZodError): Invalid {
  const issue = error.issues[0];
  const field = issue?.path.length ? issue.path.map(String).join(".") : "campaign_link";
  return { ok: false, field, message: issue?.message ?? "is invalid" };
}

/** The analytics tool's JSON → a complete link row (absent fields become null), or the first bad field. */
export function parseLinkJson(raw: string): LinkValidation {
  const parsed = parseJson(raw);
  if (!parsed.ok) return parsed;
  const { json } = parsed;
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, field: "campaign_link", message: "must be a JSON object" };
  }
  const result = linkSchema.safeParse(json);
  if (!result.success) return firstIssue(result.error);
  const value = result.data;
  return {
    ok: true,
    link: {
      id: value.id,
      campaign: value.campaign ?? null,
      adgroup: value.adgroup ?? null,
      ad: value.ad ?? null,
      network: value.network ?? null,
      country: value.country ?? null,
      device: value.device ?? null,
      campaignUrl: value.campaign_url ?? null,
      targetUrl: { ...(value.target_url ?? {}) },
      attributionWindowFingerprint: value.attribution_window_fingerprint ?? null,
      attributionWindowIdfa: value.attribution_window_idfa ?? null,
      userId: value.user_id ?? null,
    },
  };
}

const idOnly = linkSchema.pick({ id: true });

/** For delete: only the id matters. */
export function parseLinkId(raw: string): { ok: true; id: number } | Invalid {
  const parsed = parseJson(raw);
  if (!parsed.ok) return parsed;
  return parseId(parsed.json);
}

function parseId(value: unknown): { ok: true; id: number } | Invalid {
  const result = idOnly.safeParse(value);
  return result.success ? { ok: true, id: result.data.id } : firstIssue(result.error);
}

/** For the CLI's `delete <id>`: the same rule for an id given as a command-line argument. */
export function parseIdArgument(argument: string): { ok: true; id: number } | Invalid {
  return parseId({ id: /^-?\d+$/.test(argument) ? Number(argument) : argument });
}

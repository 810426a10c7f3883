import type { Query } from "./query";
import { firstPresent } from "./query";

const UNDASHED_UUID = /^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/i;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const MD5_HEX = /[0-9a-f]{32}/i;
const SHA1_HEX = /[0-9a-f]{40}/i;

// A blank adid= must not hide a real idfa or gadid.
const ADID_KEYS = ["adid", "idfa", "gadid"] as const;

/** The device's advertising id as sent (first non-blank of adid, idfa, gadid), dashed if it came without, upper-cased. */
export function advertisingId(query: Query): string | undefined {
  const raw = firstPresent(query, ADID_KEYS);
  if (raw === undefined) return undefined;
  const undashed = UNDASHED_UUID.exec(raw);
  const dashed = undashed ? undashed.slice(1, 6).join("-") : raw;
  return dashed.toUpperCase();
}

export type IdfaComb = { kind: "absent" } | { kind: "invalid" } | { kind: "valid"; value: string };

function isBlank(value: string | undefined): boolean {
  return value === undefined || value.trim() === "";
}

/** The one device identifier attribution matches on: a UUID adid, else an MD5, else a SHA-1 of the idfa. */
export function idfaComb(
  adid: string | undefined,
  idfaMd5: string | undefined,
  idfaSha1: string | undefined,
): IdfaComb {
  if (isBlank(adid) && isBlank(idfaMd5) && isBlank(idfaSha1)) return { kind: "absent" };
  if (adid !== undefined && UUID.test(adid)) return { kind: "valid", value: adid.toUpperCase() };
  if (idfaMd5 !== undefined && MD5_HEX.test(idfaMd5)) {
    return { kind: "valid", value: idfaMd5.toLowerCase() };
  }
  if (idfaSha1 !== undefined && SHA1_HEX.test(idfaSha1)) {
    return { kind: "valid", value: idfaSha1.toLowerCase() };
  }
  return { kind: "invalid" };
}

// Zeros (and a UUID's dashes) only: the all-zero UUID, MD5 or SHA-1 hex of an id that matched its form.
const ZEROS_ONLY = /^[0-]+$/;
const ZERO = "0".charCodeAt(0);

/**
 * Whether an identifier is the all-zero id a device sends when it opted out of tracking (ATT on
 * iOS, limit ad tracking on Android): every such click would share one lookup_key.
 */
export function isZeroedId(value: string): boolean {
  // Asked of every click with an id: a real id's first character mostly settles it without the regex.
  return value.charCodeAt(0) === ZERO && ZEROS_ONLY.test(value);
}

function unlessZeroed(value: string | undefined): string | undefined {
  return value !== undefined && isZeroedId(value) ? undefined : value;
}

/** `idfaComb` with an all-zero id taken as no id at all (ZEROED_ADID=fingerprint). */
export function idfaCombWithoutZeroed(
  adid: string | undefined,
  idfaMd5: string | undefined,
  idfaSha1: string | undefined,
): IdfaComb {
  return idfaComb(unlessZeroed(adid), unlessZeroed(idfaMd5), unlessZeroed(idfaSha1));
}

import { sign } from "../../src/api/signature";

export interface ApiCall {
  /** The campaign_link parameter exactly as sent (a JSON string, or anything for hostile tests). */
  payload: string;
  secret?: string;
  /** The X-API-SALT header; null sends none. */
  salt?: string | null;
  /** Overrides the correct signature; null sends no pepper field at all. */
  pepper?: string | null;
  /** Sent along, e.g. a proxy's X-Request-Id. */
  headers?: Record<string, string>;
}

/** The form body the analytics tool sends: campaign_link exactly as signed, and its pepper (null: none). */
export function apiForm(payload: string, pepper: string | null): string {
  const fields = new URLSearchParams({ campaign_link: payload });
  if (pepper !== null) fields.set("pepper", pepper);
  return fields.toString();
}

/** Calls the link API the way the analytics tool does: form-encoded, signed with X-API-SALT and pepper. */
export function callApi(base: string, action: "create" | "delete", call: ApiCall): Promise<Response> {
  const salt = call.salt === undefined ? crypto.randomUUID() : call.salt;
  const pepper =
    call.pepper !== undefined
      ? call.pepper
      : call.secret === undefined
        ? ""
        : sign(salt ?? "", call.payload, call.secret);
  const headers: Record<string, string> = {
    ...call.headers,
    "content-type": "application/x-www-form-urlencoded",
  };
  if (salt !== null) headers["x-api-salt"] = salt;
  return fetch(`${base}/api/v1/${action}`, { method: "POST", headers, body: apiForm(call.payload, pepper) });
}

/** Creates (or replaces) a link through the API and fails loudly if the service refuses it. */
export async function createLink(base: string, secret: string, link: Record<string, unknown>): Promise<void> {
  const response = await callApi(base, "create", { payload: JSON.stringify(link), secret });
  if (response.status !== 200) throw new Error(`create link: ${response.status} ${await response.text()}`);
}

import { sign } from "../../src/api/signature";

export interface ApiCall {
  /** The campaign_link parameter exactly as sent (a JSON string, or anything for hostile tests). */
  payload: string;
  secret?: string;
  salt?: string;
  /** Overrides the correct signature. */
  pepper?: string;
  /** Sent along, e.g. a proxy's X-Request-Id. */
  headers?: Record<string, string>;
}

/** Calls the link API the way the analytics tool does: form-encoded, signed with X-API-SALT and pepper. */
export function callApi(base: string, action: "create" | "delete", call: ApiCall): Promise<Response> {
  const salt = call.salt ?? crypto.randomUUID();
  const pepper = call.pepper ?? (call.secret === undefined ? "" : sign(salt, call.payload, call.secret));
  return fetch(`${base}/api/v1/${action}`, {
    method: "POST",
    headers: { ...call.headers, "x-api-salt": salt, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ campaign_link: call.payload, pepper }),
  });
}

/** Creates (or replaces) a link through the API and fails loudly if the service refuses it. */
export async function createLink(base: string, secret: string, link: Record<string, unknown>): Promise<void> {
  const response = await callApi(base, "create", { payload: JSON.stringify(link), secret });
  if (response.status !== 200) throw new Error(`create link: ${response.status} ${await response.text()}`);
}

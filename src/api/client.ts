import type { ApiAction } from "../metrics/metrics";
import { v2Headers } from "./signature";

/** A link API request ready to send: what `fetch` needs, signed the v2 way. */
export interface LinkApiRequest {
  url: string;
  method: "POST";
  headers: Record<string, string>;
  /** Form-encoded, as the service takes it: `campaign_link=<the link JSON>`. */
  body: string;
}

/** The current Unix time in whole seconds, as X-API-Timestamp carries it. */
export function unixSeconds(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000);
}

/**
 * The reference client's request: `payload` (the link JSON, or `{"id":N}` to delete) sent to
 * `<base>/api/1/<action>` and signed over the exact body bytes with `secret`.
 */
export function signedLinkApiRequest(
  base: string,
  action: ApiAction,
  payload: string,
  secret: string,
  timestamp = unixSeconds(),
): LinkApiRequest {
  const url = `${base.replace(/\/+$/, "")}/api/1/${action}`;
  const body = new URLSearchParams({ campaign_link: payload }).toString();
  const signed = { timestamp, method: "POST", path: new URL(url).pathname, body };
  return {
    url,
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...v2Headers(secret, signed) },
    body,
  };
}

export function sendLinkApiRequest(request: LinkApiRequest): Promise<Response> {
  const { url, ...init } = request;
  return fetch(url, { ...init, redirect: "manual" });
}

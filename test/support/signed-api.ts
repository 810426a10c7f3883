import { sign } from "../../src/api/signature";

const SALT = "test-salt";

/** A link API call as the analytics tool makes it: form-encoded, signed with the shared key. */
export function signedApi(
  base: string,
  action: "create" | "delete",
  link: unknown,
  secret: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const payload = typeof link === "string" ? link : JSON.stringify(link);
  return fetch(`${base}/api/v1/${action}`, {
    method: "POST",
    headers: { ...headers, "x-api-salt": SALT },
    body: new URLSearchParams({ campaign_link: payload, pepper: sign(SALT, payload, secret) }),
  });
}

// An id our own proxy gave the request (fly.io sets Fly-Request-Id), if it looks like one.
const FORWARDED_ID = /^[\w.:-]{1,128}$/;

/**
 * The id that ties an error's log line to what the client saw. Made only when something
 * went wrong, so a click pays nothing for it; the proxy's id when there is one.
 */
export function requestIdOf(request: Request): string {
  const forwarded = request.headers.get("fly-request-id") ?? request.headers.get("x-request-id");
  return forwarded !== null && FORWARDED_ID.test(forwarded) ? forwarded : Bun.randomUUIDv7();
}

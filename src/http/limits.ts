/**
 * What the service accepts from a client, in one place. docs/hostile-input.md's limits table mirrors this file.
 *
 * Bun 1.4.5's HTTP parser enforces more before any of our code runs (measured with a raw socket;
 * none of these can be set from Bun.serve):
 * - a request head (request line + headers) over 16,384 bytes, or more than 198 header fields → 431;
 * - a request line with spaces or control bytes in its target → 505 (or 400), a header value with
 *   control bytes other than tab, a bare LF, folded lines, two Content-Lengths, Content-Length with
 *   Transfer-Encoding → 400; each without reaching the service;
 * - a connection that has not finished its first request head within about 10 s is closed,
 *   however slowly it trickles bytes (uWebSockets' own header timeout, whatever `idleTimeout` says).
 */

/** A click's query longer than this (as sent, percent-encoded) gets 414 and writes no event. */
export const MAX_CLICK_QUERY_BYTES = 8 * 1024;

/**
 * The link API takes no more: a larger declared body gets its 413 from the Content-Length alone,
 * a chunked one as soon as it runs over; nothing beyond this is ever read.
 */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * What Bun itself accepts on any route (`maxRequestBodySize`), so that no client can make it take
 * in more; a larger body gets Bun's bare 413 before any route runs. Above MAX_BODY_BYTES so that
 * the API answers its own, counted 413 to the bodies a real caller might send.
 */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

/**
 * Seconds a connection may stay silent (between requests, or while sending a body) before it is
 * closed. Also the longest a request may take to answer: keep it above every store timeout.
 */
export const IDLE_TIMEOUT_SECONDS = 10;

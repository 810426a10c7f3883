import type { Destination, DestinationState } from "../db/schema";
import type { CheckResult } from "./probe";

/** Consecutive definitive failures that make a destination dead: one 404 may be a deploy gone wrong. */
export const FAILURES_TO_DEAD = 3;

export type DestinationStatus = Omit<Destination, "url">;

/**
 * A destination's state after one more check. `ok` makes it alive; a definitive failure counts
 * toward dead (unknown until the count is reached); anything inconclusive makes it unknown and
 * breaks the count, so it never makes a destination dead.
 */
export function nextStatus(
  previous: DestinationStatus | undefined,
  result: CheckResult,
  now: Date,
): DestinationStatus {
  let state: DestinationState;
  let consecutiveFailures = 0;
  let reason = result.reason;
  if (result.outcome === "ok") {
    state = "alive";
  } else if (result.outcome === "failed") {
    consecutiveFailures = (previous?.consecutiveFailures ?? 0) + 1;
    state = consecutiveFailures >= FAILURES_TO_DEAD ? "dead" : "unknown";
    if (state === "unknown") reason = `${result.reason} (${consecutiveFailures} of ${FAILURES_TO_DEAD})`;
  } else {
    state = "unknown";
  }
  const since = previous !== undefined && previous.state === state ? previous.since : now;
  return { state, reason, since, consecutiveFailures, checkedAt: now };
}

import type { Clickstore, ClickstoreHealth } from "../clickstore/clickstore";

/** Whether the service can answer clicks yet: /check and the click route ask. */
export interface Readiness {
  /** Why not, for people reading /check; undefined once it can. */
  notReadyBecause(): string | undefined;
}

/** Why a machine whose links are loaded is not ready: it can keep no click. */
export const CLICKSTORE_UNAVAILABLE = "Database unreachable";

/**
 * What /check answers: 200 when ready, else 503 with the reason. `health` is the clickstore's
 * state, once the links are loaded (before, nothing can be served anyway).
 */
export type Assessment =
  | { ready: true; health: ClickstoreHealth }
  | { ready: false; reason: string; health: ClickstoreHealth | undefined };

/**
 * The one decision whether this machine should get clicks: the links are loaded, and a Redis node
 * or the spool can keep a click. /check answers it; the HTTPS gate follows it.
 */
export async function assessReadiness(
  readiness: Readiness,
  clickstore: Pick<Clickstore, "health">,
): Promise<Assessment> {
  const notReady = readiness.notReadyBecause();
  if (notReady !== undefined) return { ready: false, reason: notReady, health: undefined };
  const health = await clickstore.health();
  return health.acceptsClicks
    ? { ready: true, health }
    : { ready: false, reason: CLICKSTORE_UNAVAILABLE, health };
}

/**
 * Assesses readiness every `intervalMs` (one assessment at a time) and hands each result to
 * `follow`, changed or not, so that a follower whose last attempt failed tries again. Returns stop.
 */
export function watchReadiness(
  assess: () => Promise<boolean>,
  intervalMs: number,
  follow: (ready: boolean) => void,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const tick = async () => {
    const ready = await assess().catch(() => false);
    if (stopped) return;
    follow(ready);
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

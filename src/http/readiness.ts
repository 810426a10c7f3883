/** Whether the service can answer clicks yet: /check and the click route ask. */
export interface Readiness {
  /** Why not, for people reading /check; undefined once it can. */
  notReadyBecause(): string | undefined;
}

/**
 * Assesses readiness every `intervalMs` (one assessment at a time) and hands each result to
 * `follow`, changed or not, so that a follower whose last attempt failed tries again. Returns stop.
 */
export function pollReadiness(
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

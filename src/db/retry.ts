const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;

/**
 * How long to wait before reconnecting attempt `attempt` (0 = the first retry): doubling from 100 ms up to
 * 2 s, so a restarted database is found again within about 2 s. The random half spreads the machines
 * out, so they do not all reconnect and reload at the same instant.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(FIRST_DELAY_MS * 2 ** Math.max(0, attempt), MAX_DELAY_MS);
  return ceiling * (0.5 + random() / 2);
}

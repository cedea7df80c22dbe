const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

/**
 * How long a model instance whose worker could not be restarted waits before the next try, after `failures`
 * consecutive failed restarts (>= 1): doubling from 1 s, capped at 30 s.
 */
export function respawnDelayMs(failures: number): number {
  return Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** failures);
}

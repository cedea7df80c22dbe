import { noJitterDelay } from '../../shared/backoff.ts';

/**
 * How long a model instance whose worker could not be restarted waits before the next try, after `failures`
 * consecutive failed restarts (>= 1): doubling from 1 s, capped at 30 s. No jitter: one local retrier
 * (shared/backoff.ts says why).
 */
export function respawnDelayMs(failures: number): number {
  return noJitterDelay(failures, { baseDelayMs: 500, maxDelayMs: 30_000 });
}

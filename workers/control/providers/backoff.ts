/**
 * Exponential backoff with "equal jitter" (half fixed, half random): retries from many reconcilers spread out
 * instead of hitting a recovering provider in lockstep, yet each still waits at least half the step. A
 * provider's Retry-After, when it sends one, is a floor.
 */
export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
  retryAfterMs?: number,
): number {
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt));
  const delay = cap / 2 + random() * (cap / 2);
  return Math.round(retryAfterMs === undefined ? delay : Math.max(delay, retryAfterMs));
}

/**
 * Time as a dependency, so policies (batcher, breaker, autoscaler) are tested with a fake clock.
 * `now()` is milliseconds on a monotonic scale with sub-millisecond precision; `wallNow()` is epoch ms.
 */
export interface Clock {
  now(): number;
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  },
};

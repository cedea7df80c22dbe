import { TtlMap } from '../ttl-map.ts';
import type { LimitRequest, LimitResult, RateLimiter } from './rate-limiter.ts';
import { refillIntervalMs } from './rate-limiter.ts';

interface Bucket {
  tokens: number;
  /** Epoch ms of the last whole-token refill. */
  refilledAt: number;
}

/**
 * The in-isolate token bucket: exact for one isolate, so with many isolates the effective limit is higher.
 * That is the accepted cost of failing open when Redis is down, and the only limiter when none is configured.
 */
export function createMemoryRateLimiter(options: { now: () => number; maxBuckets?: number }): RateLimiter {
  const buckets = new TtlMap<Bucket>({ maxEntries: options.maxBuckets ?? 50_000, now: options.now });
  return {
    async limit(req: LimitRequest): Promise<LimitResult> {
      const now = options.now();
      const interval = refillIntervalMs(req.perMinute);
      const perTick = Math.max(1, Math.round((req.perMinute * interval) / 60_000));
      const id = `${req.identifier}:${req.perMinute}:${req.burst}`;
      const bucket = buckets.get(id) ?? { tokens: req.burst, refilledAt: now };
      const ticks = Math.floor((now - bucket.refilledAt) / interval);
      if (ticks > 0) {
        bucket.tokens = Math.min(req.burst, bucket.tokens + ticks * perTick);
        bucket.refilledAt += ticks * interval;
      }
      if (bucket.tokens >= req.burst) bucket.refilledAt = now;
      const success = bucket.tokens >= req.cost;
      if (success) bucket.tokens -= req.cost;
      // An idle bucket refills completely within this time; after it the entry is worthless.
      const fullAfterMs = Math.ceil(req.burst / perTick) * interval;
      buckets.set(id, bucket, fullAfterMs + interval);
      return {
        success,
        limit: req.burst,
        remaining: Math.max(0, bucket.tokens),
        reset: bucket.refilledAt + interval,
        source: 'memory',
      };
    },
  };
}

import { Ratelimit } from '@upstash/ratelimit';
import type { Redis } from '@upstash/redis';
import { RATE_LIMIT_PREFIX } from '../../../shared/redis-keys.ts';
import type { LimitRequest, LimitResult, RateLimiter } from './rate-limiter.ts';
import { refillIntervalMs } from './rate-limiter.ts';

/** Thrown when Redis did not answer (error or timeout); the rate-limit middleware decides open or closed. */
class LimiterUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LimiterUnavailableError';
  }
}

export interface UpstashRateLimiterOptions {
  redis: Redis;
  /** Redis key prefix of the buckets. */
  prefix?: string;
  /** After this the call counts as failed (the library would otherwise let the request through silently). */
  timeoutMs: number;
}

/**
 * `@upstash/ratelimit` token buckets, one `Ratelimit` per (rate, burst) pair because the algorithm is fixed
 * per instance; instances live for the isolate so their ephemeral cache of exhausted identifiers answers
 * repeat offenders without a Redis call. The Lua call is issued synchronously inside `limit`, so with
 * auto-pipelining it shares a round trip with any command started in the same tick.
 */
export function createUpstashRateLimiter(options: UpstashRateLimiterOptions): RateLimiter {
  const instances = new Map<string, Ratelimit>();
  const instanceFor = (perMinute: number, burst: number): Ratelimit => {
    const id = `${perMinute}:${burst}`;
    let instance = instances.get(id);
    if (!instance) {
      const interval = refillIntervalMs(perMinute);
      const perTick = Math.max(1, Math.round((perMinute * interval) / 60_000));
      instance = new Ratelimit({
        redis: options.redis,
        limiter: Ratelimit.tokenBucket(perTick, `${interval} ms`, burst),
        prefix: options.prefix ?? RATE_LIMIT_PREFIX,
        timeout: options.timeoutMs,
        analytics: false,
      });
      instances.set(id, instance);
    }
    return instance;
  };
  return {
    async limit(req: LimitRequest): Promise<LimitResult> {
      let result: Awaited<ReturnType<Ratelimit['limit']>>;
      try {
        result = await instanceFor(req.perMinute, req.burst).limit(req.identifier, { rate: req.cost });
      } catch (err) {
        throw new LimiterUnavailableError('Redis rate-limit call failed', { cause: err });
      }
      if (result.reason === 'timeout') {
        throw new LimiterUnavailableError(`Redis rate-limit call took longer than ${options.timeoutMs} ms`);
      }
      return {
        success: result.success,
        limit: result.limit,
        remaining: result.remaining,
        reset: result.reset,
        source: 'redis',
      };
    },
  };
}

/**
 * Token-bucket rate limiting: a bucket of `burst` tokens refilled at `perMinute` tokens a minute; a request
 * takes `cost` tokens (its batch size). Two implementations share this interface: `@upstash/ratelimit` over
 * Redis (global across edges) and an in-isolate bucket (no Redis configured, or Redis down and failing open).
 */
export interface LimitRequest {
  /** Bucket identity, e.g. `key:<keyId>` or `ip:<address>`. */
  identifier: string;
  perMinute: number;
  burst: number;
  cost: number;
}

export interface LimitResult {
  success: boolean;
  /** Bucket capacity (`burst`). */
  limit: number;
  remaining: number;
  /** Epoch ms at which the bucket next gains a token (a refused request may retry then, for cost 1). */
  reset: number;
  source: 'redis' | 'memory';
}

export interface RateLimiter {
  limit(request: LimitRequest): Promise<LimitResult>;
}

/** Milliseconds between single-token refills for a per-minute rate. */
export function refillIntervalMs(perMinute: number): number {
  return Math.max(1, Math.round(60_000 / perMinute));
}

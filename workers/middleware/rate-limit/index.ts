import type { Context, MiddlewareHandler } from 'hono';
import { AppError, toErrorResponse } from '../../../shared/errors/index.ts';
import type { AppEnv, CacheLookupStarter } from '../../env.ts';
import {
  type LimitRequest,
  type LimitResult,
  type RateLimiter,
  refillIntervalMs,
} from '../../stores/limits/rate-limiter.ts';
import { responseHeaders } from '../response-headers.ts';

export interface RateLimitOptions {
  /** The shared limiter (Upstash over Redis), or the in-memory one when no Redis is configured. */
  limiter: RateLimiter;
  /** Used when `limiter` fails and `failureMode` is `open`: the per-isolate bucket. */
  fallback: RateLimiter;
  failureMode: 'open' | 'closed';
  /** Limits for requests without a key, per `CF-Connecting-IP`. */
  ip: { perMinute: number; burst: number };
  /** Started in the same tick as the limiter call, so both share one pipelined Redis round trip. */
  startCacheLookup?: CacheLookupStarter | null;
}

interface Bucket {
  identifier: string;
  perMinute: number;
  burst: number;
}

/**
 * The client's address: on Workers `CF-Connecting-IP`, which Cloudflare sets; under Node (`npm run
 * edge:node`, where `c.env.incoming` is the Node request) the TCP peer, because there any client could send
 * that header and pick a fresh bucket per request.
 */
function clientAddress(c: Context<AppEnv>): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  if (incoming) return incoming.socket?.remoteAddress || 'unknown';
  return c.req.header('cf-connecting-ip')?.trim() || 'unknown';
}

/** The bucket of a request without a (valid) key: its client address. */
export function ipBucket(c: Context<AppEnv>, ip: RateLimitOptions['ip']): Bucket {
  return { identifier: `ip:${clientAddress(c).slice(0, 64)}`, ...ip };
}

function bucketFor(c: Context<AppEnv>, ip: RateLimitOptions['ip']): Bucket {
  const auth = c.get('auth');
  if (auth?.keyId) {
    return { identifier: `key:${auth.keyId}`, perMinute: auth.requestsPerMinute, burst: auth.burst };
  }
  if (auth?.operator) return { identifier: 'operator', perMinute: auth.requestsPerMinute, burst: auth.burst };
  return ipBucket(c, ip);
}

export function setHeaders(headers: Headers, result: LimitResult, nowMs: number): void {
  const resetSeconds = Math.max(0, Math.ceil((result.reset - nowMs) / 1000));
  headers.set('ratelimit-limit', String(result.limit));
  headers.set('ratelimit-remaining', String(result.remaining));
  headers.set('ratelimit-reset', String(resetSeconds));
  headers.set('x-ratelimit-limit', String(result.limit));
  headers.set('x-ratelimit-remaining', String(result.remaining));
  headers.set('x-ratelimit-reset', String(Math.ceil(result.reset / 1000)));
}

/** Seconds until `cost` tokens are back: the next refill plus one interval per further missing token. */
export function retryAfterSeconds(
  result: LimitResult,
  cost: number,
  perMinute: number,
  nowMs: number,
): number {
  const missing = Math.max(1, cost - result.remaining);
  const ms = Math.max(0, result.reset - nowMs) + (missing - 1) * refillIntervalMs(perMinute);
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * Token-bucket limits per key (the tenant plan's rate and burst) or per client IP without a key; a request
 * costs its batch size. `RateLimit-*` and `X-RateLimit-*` go on every response it lets through or refuses;
 * a refusal is 429 with `Retry-After`. If Redis fails, `open` falls back to the isolate's own bucket and
 * `closed` answers 503 naming Redis; both are counted and logged.
 *
 * @example
 * app.use('/v2/*', rateLimit({ limiter, fallback, failureMode: 'open', ip: { perMinute: 120, burst: 60 } }));
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler<AppEnv> {
  return async function rateLimitMiddleware(c, next) {
    const { metrics } = c.get('services');
    const bucket = bucketFor(c, options.ip);
    const cost = c.get('inference')?.items ?? 1;
    if (cost > bucket.burst) {
      throw new AppError(
        'INVALID_REQUEST',
        `a batch of ${cost} items exceeds this key's burst of ${bucket.burst} items per request; split it`,
      );
    }
    const request = { ...bucket, cost };
    const pending = options.limiter.limit(request);
    // Same tick as the limiter's Redis command: auto-pipelining sends both in one round trip. @upstash/redis
    // keeps separate read and write pipelines; the limiter's EVALSHA is a "write", so the lookup must use a
    // command of the same class (GETEX, as the response cache does), not GET, to share its round trip.
    const lookup = options.startCacheLookup?.(c);
    if (lookup) {
      lookup.catch(() => {});
      c.set('cacheLookup', lookup);
    }
    const result = await settle(c, options, request, pending);
    const now = c.get('platform').now();
    if (!result.success) {
      metrics.inc('edge_rate_limited_total');
      return refusal(
        c,
        result,
        `rate limit exceeded: ${result.remaining} of ${result.limit} tokens left, this request costs ${cost}`,
        retryAfterSeconds(result, cost, bucket.perMinute, now),
        now,
      );
    }
    await next();
    setHeaders(responseHeaders(c), result, now);
  };
}

/**
 * The limiter's answer, or with Redis failing: the isolate's own bucket (`open`), or 503 naming Redis
 * (`closed`, as DEPENDENCY_UNAVAILABLE). Both are counted and logged.
 */
export async function settle(
  c: Context<AppEnv>,
  options: Pick<RateLimitOptions, 'fallback' | 'failureMode'>,
  request: LimitRequest,
  pending: Promise<LimitResult>,
): Promise<LimitResult> {
  try {
    return await pending;
  } catch (err) {
    const { metrics } = c.get('services');
    metrics.inc('edge_rate_limit_redis_failures_total');
    if (options.failureMode === 'closed') {
      metrics.inc('edge_rate_limit_fail_closed_total');
      c.get('logger').error(
        { err, bucket: request.identifier },
        'rate limiter unavailable; refusing (closed)',
      );
      throw new AppError('DEPENDENCY_UNAVAILABLE', 'rate limiter (Redis) is unreachable', {
        cause: err,
        retryAfterSeconds: 5,
      });
    }
    metrics.inc('edge_rate_limit_fail_open_total');
    c.get('logger').warn(
      { err, bucket: request.identifier },
      'rate limiter unavailable; using isolate limiter',
    );
    return options.fallback.limit(request);
  }
}

/** 429 with `Retry-After`, the rate-limit headers and a JSON body saying why. */
export function refusal(
  c: Context<AppEnv>,
  result: LimitResult,
  message: string,
  retryAfter: number,
  nowMs: number,
): Response {
  const error = new AppError('RATE_LIMITED', message, { retryAfterSeconds: retryAfter });
  const response = toErrorResponse(error, c.get('requestId'));
  setHeaders(response.headers, result, nowMs);
  return response;
}

import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../../../shared/errors/index.ts';
import type { CacheLookupResult } from '../../cache/lookup.ts';
import type { LimitResult } from '../../stores/limits/rate-limiter.ts';
import type { AuthVariables } from '../auth/index.ts';
import type { EdgeContextVariables } from '../edge-context/index.ts';
import type { InferBodyVariables } from '../infer-body/index.ts';
import type { RequestIdVariables } from '../request-id/index.ts';
import { responseHeaders } from '../response-headers.ts';
import { bucketFor } from './buckets.ts';
import { refusal, retryAfterSeconds, setHeaders } from './limit-answer.ts';
import { type LimiterOptions, settle } from './limiter.ts';

export interface RateLimitVariables {
  /** The response-cache lookup started next to the limiter call (inference requests with a cache only). */
  cacheLookup: Promise<CacheLookupResult> | undefined;
}

export interface RateLimitOptions extends LimiterOptions {
  /** Started in the same tick as the limiter call, so both share one pipelined Redis round trip. */
  startCacheLookup?: ((c: Context) => Promise<CacheLookupResult> | undefined) | null;
  /** Paths passed through uncharged and without `RateLimit-*` headers (the health probes). */
  exemptPaths?: ReadonlySet<string>;
}

type RateLimitEnv = {
  Variables: RateLimitVariables &
    AuthVariables &
    InferBodyVariables &
    RequestIdVariables &
    Pick<EdgeContextVariables, 'platform'>;
};

/**
 * Token-bucket limits per key (the tenant plan's rate and burst) or per client IP without a key; a request
 * costs its batch size. `RateLimit-*` and `X-RateLimit-*` go on every response it lets through or refuses;
 * a refusal is 429 with `Retry-After`. If Redis fails, `open` falls back to the isolate's own bucket and
 * `closed` answers 503 naming Redis; both are counted and logged.
 *
 * @example
 * app.use('/v2/*', rateLimit({ limiter, fallback, failureMode: 'open', ip: { perMinute: 120, burst: 60 }, metrics }));
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler<RateLimitEnv> {
  const { metrics } = options;
  return async function rateLimitMiddleware(c, next) {
    if (options.exemptPaths?.has(c.req.path)) return next();
    const bucket = bucketFor(c, c.get('auth'), options.ip);
    const cost = c.get('inference')?.items ?? 1;
    if (cost > bucket.burst) {
      throw new AppError(
        'INVALID_REQUEST',
        `a batch of ${cost} items exceeds this key's burst of ${bucket.burst} items per request; split it`,
      );
    }
    const request = { ...bucket, cost };
    const span = c.get('trace')?.startSpan('rate limit', { attributes: { 'aiserve.rate_limit.cost': cost } });
    const pending = options.limiter.limit(request);
    // Same tick as the limiter's Redis command: auto-pipelining sends both in one round trip. @upstash/redis
    // keeps separate read and write pipelines; the limiter's EVALSHA is a "write", so the lookup must use a
    // command of the same class (GETEX, as the response cache does), not GET, to share its round trip.
    const lookup = options.startCacheLookup?.(c);
    if (lookup) {
      lookup.catch(() => {});
      c.set('cacheLookup', lookup);
    }
    let result: LimitResult;
    try {
      result = await settle(c.get('logger'), options, request, pending);
    } catch (err) {
      span?.fail('limiter unavailable');
      span?.end();
      throw err;
    }
    if (span) {
      span.setAttribute('aiserve.rate_limit.allowed', result.success);
      span.setAttribute('aiserve.rate_limit.remaining', result.remaining);
      span.setAttribute('aiserve.rate_limit.source', result.source);
      span.end();
    }
    const now = c.get('platform').now();
    if (!result.success) {
      metrics.inc('edge_rate_limited_total');
      return refusal(
        c.get('requestId'),
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

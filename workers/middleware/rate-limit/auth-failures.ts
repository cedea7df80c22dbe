import type { Context, MiddlewareHandler } from 'hono';
import { isAppError } from '../../../shared/errors/index.ts';
import type { LimitResult } from '../../stores/limits/rate-limiter.ts';
import { TtlMap } from '../../stores/ttl-map.ts';
import type { AuthVariables } from '../auth/index.ts';
import type { EdgeContextVariables } from '../edge-context/index.ts';
import type { RequestIdVariables } from '../request-id/index.ts';
import { responseHeaders } from '../response-headers.ts';
import { ipBucket } from './buckets.ts';
import { refusal, retryAfterSeconds, setHeaders } from './limit-answer.ts';
import { type LimiterOptions, settle } from './limiter.ts';

export interface AuthFailureLimitOptions extends LimiterOptions {
  /** Whether the request presents a key this isolate holds as valid (so no lookup can be forced with it). */
  knownKey(c: Context): boolean;
  now: () => number;
  /** Client IPs remembered as exhausted at once (bounded: a flood of addresses cannot grow it). */
  maxBlocked?: number;
}

/**
 * Requests to a keyed route that end without a valid key (401, or a 4xx such as 413 before auth ran) cost one
 * token of their client IP's bucket, the one unauthenticated routes use, and carry its rate-limit headers.
 * Why: the per-key limiter runs after auth, so without this a client could guess keys without limit, and each
 * guess with a fresh prefix costs a Redis and a Postgres lookup. Once a failure finds the IP's bucket empty,
 * that answer is 429 with `Retry-After`, and until the bucket's next refill this isolate refuses the IP's
 * requests at once (429, before any body is read or key looked up), except those presenting a key the isolate
 * already holds as valid. Requests with a valid key never spend this bucket, and a success costs nothing here
 * (no Redis round trip on the hot path). With Redis down: the isolate's bucket (`open`), or the original answer
 * without the headers (`closed`: an auth failure is not turned into a 503).
 *
 * @example
 * app.use('/v2/models/*', authFailureLimit({ limiter, fallback, failureMode: 'open', ip, metrics, knownKey, now }));
 */
export function authFailureLimit(options: AuthFailureLimitOptions): MiddlewareHandler<{
  Variables: AuthVariables & RequestIdVariables & Pick<EdgeContextVariables, 'platform'>;
}> {
  const { metrics } = options;
  const blocked = new TtlMap<LimitResult>({ maxEntries: options.maxBlocked ?? 10_000, now: options.now });
  const retryAfter = (result: LimitResult, now: number) =>
    retryAfterSeconds(result, 1, options.ip.perMinute, now);
  return async function authFailureLimitMiddleware(c, next) {
    // The client address is read only while some address is blocked, or after a refusal: not on every hit.
    if (blocked.size > 0) {
      const exhausted = blocked.get(ipBucket(c, options.ip).identifier);
      if (exhausted && !options.knownKey(c)) {
        metrics.inc('edge_auth_failures_limited_total');
        const now = c.get('platform').now();
        return refusal(c.get('requestId'), exhausted, message(exhausted), retryAfter(exhausted, now), now);
      }
    }
    await next();
    const status = c.res.status;
    if (status < 400 || status >= 500 || c.get('auth') !== undefined) return;
    const bucket = ipBucket(c, options.ip);
    const request = { ...bucket, cost: 1 };
    let result: LimitResult;
    try {
      result = await settle(c.get('logger'), options, request, options.limiter.limit(request));
    } catch (err) {
      if (isAppError(err)) return;
      throw err;
    }
    const now = c.get('platform').now();
    if (result.success) {
      setHeaders(responseHeaders(c), result, now);
      return;
    }
    metrics.inc('edge_auth_failures_limited_total');
    blocked.set(bucket.identifier, result, result.reset - now);
    // Hono's setter merges the old answer's headers into the new one; the 401's WWW-Authenticate does not
    // belong on a 429, so the old answer is dropped first.
    c.res = undefined;
    c.res = refusal(c.get('requestId'), result, message(result), retryAfter(result, now), now);
  };
}

function message(result: LimitResult): string {
  return `too many requests without a valid API key from this address (a burst of ${result.limit} is allowed); retry after Retry-After seconds`;
}

import { AppError } from '../../../shared/errors/index.ts';
import type { EdgeLogger } from '../../observability/logger.ts';
import type { EdgeMetrics } from '../../observability/metrics.ts';
import type { LimitRequest, LimitResult, RateLimiter } from '../../stores/limits/rate-limiter.ts';
import type { IpLimits } from './buckets.ts';

/** The limiters both rate-limit middlewares charge, and what to do when the shared one fails. */
export interface LimiterOptions {
  /** The shared limiter (Upstash over Redis), or the in-memory one when no Redis is configured. */
  limiter: RateLimiter;
  /** Used when `limiter` fails and `failureMode` is `open`: the per-isolate bucket. */
  fallback: RateLimiter;
  failureMode: 'open' | 'closed';
  /** Limits for requests without a key, per `CF-Connecting-IP`. */
  ip: IpLimits;
  metrics: EdgeMetrics;
}

/**
 * The limiter's answer, or with Redis failing: the isolate's own bucket (`open`), or 503 naming Redis
 * (`closed`, as DEPENDENCY_UNAVAILABLE). Both are counted and logged.
 */
export async function settle(
  logger: EdgeLogger,
  options: Pick<LimiterOptions, 'fallback' | 'failureMode' | 'metrics'>,
  request: LimitRequest,
  pending: Promise<LimitResult>,
): Promise<LimitResult> {
  try {
    return await pending;
  } catch (err) {
    const { metrics } = options;
    metrics.inc('edge_rate_limit_redis_failures_total');
    if (options.failureMode === 'closed') {
      metrics.inc('edge_rate_limit_fail_closed_total');
      logger.error({ err, bucket: request.identifier }, 'rate limiter unavailable; refusing (closed)');
      throw new AppError('DEPENDENCY_UNAVAILABLE', 'rate limiter (Redis) is unreachable', {
        cause: err,
        retryAfterSeconds: 5,
      });
    }
    metrics.inc('edge_rate_limit_fail_open_total');
    logger.warn({ err, bucket: request.identifier }, 'rate limiter unavailable; using isolate limiter');
    return options.fallback.limit(request);
  }
}

import { AppError, toErrorResponse } from '../../../shared/errors/index.ts';
import { type LimitResult, refillIntervalMs } from '../../stores/limits/rate-limiter.ts';

/** `RateLimit-*` (draft standard) and `X-RateLimit-*` (what most clients read) for one limiter answer. */
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

/** 429 with `Retry-After`, the rate-limit headers and a JSON body saying why. */
export function refusal(
  requestId: string,
  result: LimitResult,
  message: string,
  retryAfter: number,
  nowMs: number,
): Response {
  const error = new AppError('RATE_LIMITED', message, { retryAfterSeconds: retryAfter });
  const response = toErrorResponse(error, requestId);
  setHeaders(response.headers, result, nowMs);
  return response;
}

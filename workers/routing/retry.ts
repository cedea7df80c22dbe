/**
 * Pure retry policy for origin calls: what may be retried, how long to wait (exponential backoff with full
 * jitter), and whether the request's deadline leaves room for another attempt. Inference is a pure function
 * of its input, so resending it to another origin is safe.
 */

import { fullJitterDelay } from '../../shared/backoff.ts';

export interface RetryPolicy {
  /** Total attempts per request, the first included. */
  maxAttempts: number;
  /** Backoff cap before jitter for the first retry; doubles per retry. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** An attempt needs at least this much of the deadline left to be worth starting. */
  minAttemptMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 25,
  maxDelayMs: 1_000,
  minAttemptMs: 100,
};

/** What one attempt against one origin came to. */
export type AttemptOutcome =
  /** `code`: the platform's error code when the body is its JSON error (an origin's own 504, say). */
  | { kind: 'response'; status: number; code?: string }
  /** Connection refused, reset or lost, before or during the response. */
  | { kind: 'transport' }
  /** The answer was larger than the edge reads (`ORIGIN_MAX_RESPONSE_BYTES`): the origin misbehaves. */
  | { kind: 'oversized' }
  /** The per-attempt time cap passed while the request's deadline still had time. */
  | { kind: 'timeout' }
  /**
   * The request's own deadline ended during the attempt. A client may ask for any deadline, so this says
   * nothing about the origin.
   */
  | { kind: 'deadline' }
  /** The origin's breaker opened between picking it and calling it. */
  | { kind: 'breaker-open' };

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/**
 * Connect errors, 502/503/504 and an origin's 429; never a 4xx that describes the request itself, nor a request
 * whose deadline is over.
 */
export function isRetryableOutcome(outcome: AttemptOutcome): boolean {
  if (outcome.kind === 'deadline') return false;
  return outcome.kind !== 'response' || RETRYABLE_STATUS.has(outcome.status);
}

/**
 * What trips an origin's breaker: it is unreachable, hangs, or fails. 503 (queue full, draining) and 429 are
 * the origin shedding load on purpose and 4xx are the caller's fault, so none of those count. Neither do the
 * request's own deadline ending mid-attempt, nor an origin's 504 DEADLINE_EXCEEDED (a request that waited in
 * its queue past the timeout it was given): any client can cause those at will, and if they counted, one
 * client sending 1 ms deadlines could open every origin's breaker for everybody.
 */
export function countsAsBreakerFailure(outcome: AttemptOutcome): boolean {
  if (outcome.kind === 'transport' || outcome.kind === 'timeout' || outcome.kind === 'oversized') return true;
  if (outcome.kind !== 'response' || outcome.status < 500 || outcome.status === 503) return false;
  return !(outcome.status === 504 && outcome.code === 'DEADLINE_EXCEEDED');
}

/** The router's strategy is full jitter (shared/backoff.ts says why); `retry` counts from 1 here, from 0 there. */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: () => number): number {
  return fullJitterDelay(retry - 1, policy, random);
}

export type RetryPlan =
  | { retry: true; delayMs: number }
  | { retry: false; reason: 'not-retryable' | 'attempts' | 'deadline' };

export interface PlanRetryInput {
  /** Attempts made so far, the failed one included. */
  attemptsMade: number;
  outcome: AttemptOutcome;
  /** Time left before the request's deadline. */
  remainingMs: number;
  policy: RetryPolicy;
  random: () => number;
}

export function planRetry(input: PlanRetryInput): RetryPlan {
  const { attemptsMade, outcome, remainingMs, policy } = input;
  if (!isRetryableOutcome(outcome)) return { retry: false, reason: 'not-retryable' };
  if (attemptsMade >= policy.maxAttempts) return { retry: false, reason: 'attempts' };
  const delayMs = backoffDelayMs(attemptsMade, policy, input.random);
  if (remainingMs - delayMs < policy.minAttemptMs) return { retry: false, reason: 'deadline' };
  return { retry: true, delayMs };
}

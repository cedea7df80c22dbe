import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  countsAsBreakerFailure,
  DEFAULT_RETRY_POLICY,
  isRetryableOutcome,
  planRetry,
} from '../../../workers/routing/retry.ts';

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, minAttemptMs: 50 };

describe('retry policy', () => {
  it('retries connect errors, attempt timeouts, 502/503/504 and 429, nothing else', () => {
    expect(isRetryableOutcome({ kind: 'transport' })).toBe(true);
    expect(isRetryableOutcome({ kind: 'timeout' })).toBe(true);
    for (const status of [429, 502, 503, 504])
      expect(isRetryableOutcome({ kind: 'response', status })).toBe(true);
    for (const status of [200, 400, 401, 404, 413, 500]) {
      expect(isRetryableOutcome({ kind: 'response', status })).toBe(false);
    }
  });

  it('uses full jitter: the delay is uniform between 0 and the exponential cap', () => {
    expect(backoffDelayMs(1, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(1, policy, () => 0.999)).toBe(99);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(200);
    // capped at maxDelayMs
    expect(backoffDelayMs(10, policy, () => 0.5)).toBe(500);
  });

  it('stops after the attempt budget', () => {
    const plan = planRetry({
      attemptsMade: 4,
      outcome: { kind: 'transport' },
      remainingMs: 10_000,
      policy,
      random: () => 0.5,
    });
    expect(plan).toEqual({ retry: false, reason: 'attempts' });
  });

  it('stops when the deadline leaves no room for the delay plus one attempt', () => {
    const plan = planRetry({
      attemptsMade: 1,
      outcome: { kind: 'transport' },
      remainingMs: 60,
      policy,
      random: () => 0.5,
    });
    expect(plan).toEqual({ retry: false, reason: 'deadline' });
    const ok = planRetry({
      attemptsMade: 1,
      outcome: { kind: 'transport' },
      remainingMs: 1_000,
      policy,
      random: () => 0.5,
    });
    expect(ok).toEqual({ retry: true, delayMs: 50 });
  });

  it('never retries a 4xx', () => {
    const plan = planRetry({
      attemptsMade: 1,
      outcome: { kind: 'response', status: 400 },
      remainingMs: 10_000,
      policy: DEFAULT_RETRY_POLICY,
      random: () => 0,
    });
    expect(plan).toEqual({ retry: false, reason: 'not-retryable' });
  });

  it('counts unreachable, hung and failing origins against the breaker, not load shedding or 4xx', () => {
    expect(countsAsBreakerFailure({ kind: 'transport' })).toBe(true);
    expect(countsAsBreakerFailure({ kind: 'timeout' })).toBe(true);
    expect(countsAsBreakerFailure({ kind: 'response', status: 502 })).toBe(true);
    expect(countsAsBreakerFailure({ kind: 'response', status: 500 })).toBe(true);
    expect(countsAsBreakerFailure({ kind: 'response', status: 503 })).toBe(false);
    expect(countsAsBreakerFailure({ kind: 'response', status: 429 })).toBe(false);
    expect(countsAsBreakerFailure({ kind: 'response', status: 404 })).toBe(false);
  });

  it('counts nothing a client can cause at will: its own deadline ending, an origin queue timeout it set', () => {
    expect(countsAsBreakerFailure({ kind: 'deadline' })).toBe(false);
    expect(countsAsBreakerFailure({ kind: 'response', status: 504, code: 'DEADLINE_EXCEEDED' })).toBe(false);
    expect(countsAsBreakerFailure({ kind: 'response', status: 504 })).toBe(true);
    expect(countsAsBreakerFailure({ kind: 'response', status: 500, code: 'INFERENCE_FAILED' })).toBe(true);
  });

  it('never retries once the request’s own deadline has ended', () => {
    expect(isRetryableOutcome({ kind: 'deadline' })).toBe(false);
    expect(isRetryableOutcome({ kind: 'response', status: 504, code: 'DEADLINE_EXCEEDED' })).toBe(true);
  });
});

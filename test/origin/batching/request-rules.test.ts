import { describe, expect, it } from 'vitest';
import {
  checkRequest,
  deadlineOf,
  effectiveTimeoutMicros,
  isExpired,
  priorityLevel,
} from '../../../origin/batching/request-rules.ts';
import { compiledPolicy } from './batching-config.ts';

const policy = compiledPolicy;

describe('timeouts and expiry', () => {
  it('lets a request only shorten the default timeout', () => {
    expect(effectiveTimeoutMicros(1000, 5000)).toBe(1000);
    expect(effectiveTimeoutMicros(1000, 200)).toBe(200);
    expect(effectiveTimeoutMicros(1000, undefined)).toBe(1000);
    expect(effectiveTimeoutMicros(1000, 0)).toBe(1000);
  });

  it('uses the requested timeout when the model has no default', () => {
    expect(effectiveTimeoutMicros(0, 300)).toBe(300);
    expect(effectiveTimeoutMicros(0, undefined)).toBe(0);
  });

  it('computes deadlines in clock ms, Infinity for no timeout', () => {
    expect(deadlineOf(10, 2500)).toBe(12.5);
    expect(deadlineOf(10, 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('expires a request exactly at its deadline', () => {
    expect(isExpired({ deadline: 5 }, 4.999)).toBe(false);
    expect(isExpired({ deadline: 5 }, 5)).toBe(true);
    expect(isExpired({ deadline: Number.POSITIVE_INFINITY }, 1e12)).toBe(false);
  });
});

describe('checkRequest and priorityLevel', () => {
  const p = policy({ maxBatchSize: 4, priorityLevels: 3, defaultPriorityLevel: 2 });

  it('accepts a valid request', () => {
    expect(checkRequest({ size: 4, priority: 3, timeoutMicros: 100 }, p)).toBeNull();
    expect(checkRequest({ size: 1, priority: 0 }, p)).toBeNull();
  });

  it('rejects sizes that are not positive integers or exceed max_batch_size', () => {
    expect(checkRequest({ size: 0 }, p)).toMatch(/positive integer/);
    expect(checkRequest({ size: 1.5 }, p)).toMatch(/positive integer/);
    expect(checkRequest({ size: 5 }, p)).toMatch(/batch size 5 exceeds the model's max_batch_size 4/);
  });

  it('accepts any size when the model does not batch', () => {
    expect(checkRequest({ size: 32 }, policy({ maxBatchSize: 0 }))).toBeNull();
  });

  it('rejects out-of-range priorities with the valid range in the message', () => {
    expect(checkRequest({ size: 1, priority: 4 }, p)).toBe(
      'priority 4 is out of range: the model has priority levels 1..3 (1 highest)',
    );
    expect(checkRequest({ size: 1, priority: -1 }, p)).toMatch(/non-negative integer/);
    expect(checkRequest({ size: 1, priority: 1.5 }, p)).toMatch(/non-negative integer/);
  });

  it('ignores an integer priority when priorities are disabled', () => {
    const off = policy({ priorityLevels: 0 });
    expect(checkRequest({ size: 1, priority: 7 }, off)).toBeNull();
    expect(priorityLevel(7, off)).toBe(1);
  });

  it('rejects negative or non-finite timeouts', () => {
    expect(checkRequest({ size: 1, timeoutMicros: -1 }, p)).toMatch(/timeout/);
    expect(checkRequest({ size: 1, timeoutMicros: Number.NaN }, p)).toMatch(/timeout/);
  });

  it('maps no priority or 0 to the default level, else the requested level', () => {
    expect(priorityLevel(undefined, p)).toBe(2);
    expect(priorityLevel(0, p)).toBe(2);
    expect(priorityLevel(1, p)).toBe(1);
  });
});

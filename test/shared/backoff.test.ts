import { describe, expect, it } from 'vitest';
import {
  equalJitterDelay,
  exponentialStep,
  fullJitterDelay,
  jitterAboveBaseDelay,
  noJitterDelay,
} from '../../shared/backoff.ts';

const bounds = { baseDelayMs: 100, maxDelayMs: 1_000 };

describe('exponentialStep', () => {
  it('doubles from the base per step and stops at the cap; a negative step is the base', () => {
    expect([0, 1, 2, 3, 4, 10].map((s) => exponentialStep(s, bounds))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(exponentialStep(-1, bounds)).toBe(100);
  });
});

describe('noJitterDelay (model worker restarts)', () => {
  it('is exactly the step', () => {
    const restart = { baseDelayMs: 500, maxDelayMs: 30_000 };
    expect([1, 2, 3, 6, 20].map((s) => noJitterDelay(s, restart))).toEqual([
      1_000, 2_000, 4_000, 30_000, 30_000,
    ]);
  });
});

describe('fullJitterDelay (edge retries to origins)', () => {
  it('is uniform in [0, step), whole milliseconds', () => {
    expect(fullJitterDelay(0, bounds, () => 0)).toBe(0);
    expect(fullJitterDelay(0, bounds, () => 0.999)).toBe(99);
    expect(fullJitterDelay(2, bounds, () => 0.5)).toBe(200);
    expect(fullJitterDelay(9, bounds, () => 0.5)).toBe(500);
  });
});

describe('equalJitterDelay (provider API retries)', () => {
  const opts = { baseDelayMs: 100, maxDelayMs: 1_000 };

  it('doubles the step per attempt, stays within half to all of it, and caps at the maximum', () => {
    expect(equalJitterDelay(0, opts, () => 0)).toBe(50);
    expect(equalJitterDelay(0, opts, () => 1)).toBe(100);
    expect(equalJitterDelay(2, opts, () => 0)).toBe(200);
    expect(equalJitterDelay(10, opts, () => 1)).toBe(1_000);
  });

  it('never waits less than the provider asked for', () => {
    expect(equalJitterDelay(0, opts, () => 0, 5_000)).toBe(5_000);
  });
});

describe('jitterAboveBaseDelay (usage drain waiting for Postgres)', () => {
  it('waits exactly the base on the first step, then between the base and the step', () => {
    expect(jitterAboveBaseDelay(0, bounds, () => 0.7)).toBe(100);
    expect(jitterAboveBaseDelay(2, bounds, () => 0)).toBe(100);
    expect(jitterAboveBaseDelay(2, bounds, () => 1)).toBe(400);
    expect(jitterAboveBaseDelay(2, bounds, () => 0.5)).toBe(250);
    expect(jitterAboveBaseDelay(10, bounds, () => 1)).toBe(1_000);
  });
});

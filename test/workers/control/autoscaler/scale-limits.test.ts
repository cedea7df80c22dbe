import { describe, expect, it } from 'vitest';
import { scaleDownLimit, scaleUpLimit } from '../../../../workers/control/autoscaler/scale-limits.ts';

describe('HPA rate limits', () => {
  const up = { percent: 100, replicas: 4, periodMs: 15_000, select: 'max' as const };
  const down = { percent: 50, replicas: 2, periodMs: 60_000, select: 'max' as const };
  it.each([
    { name: 'max policy: the larger of +100 % and +4', current: 2, events: [], limit: 6 },
    { name: 'max policy at 10: +100 % wins', current: 10, events: [], limit: 20 },
    {
      name: 'additions inside the period count against it',
      current: 6,
      events: [{ at: 95_000, delta: 4 }],
      limit: 6,
    },
    { name: 'additions before the period do not', current: 6, events: [{ at: 80_000, delta: 4 }], limit: 12 },
    { name: 'from zero the absolute allowance applies', current: 0, events: [], limit: 4 },
  ])('scale up: $name', ({ current, events, limit }) => {
    expect(scaleUpLimit(current, events, 100_000, up)).toBe(limit);
  });

  it('select min takes the smaller allowance', () => {
    expect(scaleUpLimit(10, [], 0, { ...up, select: 'min' })).toBe(14);
    expect(scaleDownLimit(10, [], 0, { ...down, select: 'min' })).toBe(8);
  });

  it.each([
    { name: 'max policy: the larger of −50 % and −2', current: 10, events: [], limit: 5 },
    { name: 'small fleets: −2 beats −50 %', current: 3, events: [], limit: 1 },
    {
      name: 'removals inside the period count against it',
      current: 5,
      events: [{ at: 70_000, delta: -5 }],
      limit: 5,
    },
    { name: 'never below zero', current: 1, events: [], limit: 0 },
  ])('scale down: $name', ({ current, events, limit }) => {
    expect(scaleDownLimit(current, events, 100_000, down)).toBe(limit);
  });
});

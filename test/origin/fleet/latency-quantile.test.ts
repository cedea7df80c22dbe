import { describe, expect, it } from 'vitest';
import { bucketsOf, quantileBetween } from '../../../origin/fleet/latency-quantile.ts';

const bounds = [0.01, 0.1, 1, Number.POSITIVE_INFINITY];

describe('recent latency quantile from cumulative histogram snapshots', () => {
  it.each([
    // [previous counts, current counts, q, expected ms]
    { prev: null, cur: [0, 10, 10, 10], q: 0.5, ms: 55 }, // all in (10 ms, 100 ms]: midpoint by interpolation
    { prev: null, cur: [10, 10, 10, 10], q: 0.5, ms: 5 }, // first bucket interpolates from 0
    { prev: [0, 10, 10, 10], cur: [0, 10, 20, 20], q: 0.5, ms: 550 }, // only the new observations count
    { prev: null, cur: [0, 0, 0, 4], q: 0.5, ms: 1000 }, // beyond the last finite bound: that bound
    { prev: null, cur: [5, 10, 10, 10], q: 1, ms: 100 },
  ])('prev $prev → cur $cur, q=$q is $ms ms', ({ prev, cur, q, ms }) => {
    const previous = prev ? { upperBounds: bounds, counts: prev } : null;
    expect(quantileBetween(previous, { upperBounds: bounds, counts: cur }, q)).toBeCloseTo(ms, 6);
  });

  it('is null when nothing was observed between the snapshots', () => {
    const snap = { upperBounds: bounds, counts: [1, 2, 3, 3] };
    expect(quantileBetween(snap, snap, 0.5)).toBeNull();
  });

  it('sums prom-client bucket series over label sets and ignores _sum/_count', () => {
    const values = [
      { value: 1, metricName: 'x_bucket', labels: { le: 0.1, model: 'a' } },
      { value: 2, metricName: 'x_bucket', labels: { le: '+Inf', model: 'a' } },
      { value: 3, metricName: 'x_bucket', labels: { le: 0.1, model: 'b' } },
      { value: 3, metricName: 'x_bucket', labels: { le: '+Inf', model: 'b' } },
      { value: 9, metricName: 'x_sum', labels: { model: 'a' } },
      { value: 2, metricName: 'x_count', labels: { model: 'a' } },
    ];
    expect(bucketsOf(values)).toEqual({ upperBounds: [0.1, Number.POSITIVE_INFINITY], counts: [4, 5] });
  });
});

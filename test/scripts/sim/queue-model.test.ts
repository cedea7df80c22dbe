import { describe, expect, it } from 'vitest';
import { erlangC, meanInflight, replicaRate, waitTail } from '../../../scripts/sim/queue-model.ts';

describe('replica queueing model (M/M/c)', () => {
  it.each([
    { c: 1, a: 0.5, p: 0.5 }, // M/M/1: P(wait) = ρ
    { c: 2, a: 1, p: 1 / 3 },
    { c: 3, a: 2, p: 4 / 9 },
    { c: 8, a: 0, p: 0 },
    { c: 8, a: 8, p: 1 }, // saturated
    { c: 8, a: 9, p: 1 },
  ])('Erlang C for c=$c, a=$a is $p', ({ c, a, p }) => {
    expect(erlangC(c, a)).toBeCloseTo(p, 9);
  });

  it('the wait tail of one slot matches M/M/1: ρ·e^(−(μ−λ)t)', () => {
    const m = { slots: 1, serviceMs: 100 }; // μ = 10/s
    expect(waitTail(m, 5, 200)).toBeCloseTo(0.5 * Math.exp(-(10 - 5) * 0.2), 12);
    expect(meanInflight(m, 5)).toBeCloseTo(0.5 / (1 - 0.5), 12);
  });

  it('is 1 when overloaded or out of budget, 0 without traffic, and grows with load', () => {
    const m = { slots: 8, serviceMs: 100 };
    expect(replicaRate(m)).toBe(80);
    expect(waitTail(m, 80, 200)).toBe(1);
    expect(waitTail(m, 40, 0)).toBe(1);
    expect(waitTail(m, 0, 200)).toBe(0);
    const tails = [20, 40, 60, 70].map((l) => waitTail(m, l, 200));
    expect([...tails].sort((a, b) => a - b)).toEqual(tails);
    expect(tails[1]!).toBeLessThan(1e-3);
    expect(meanInflight(m, 80)).toBe(8);
  });
});

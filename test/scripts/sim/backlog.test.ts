import { describe, expect, it } from 'vitest';
import { Backlog } from '../../../scripts/sim/backlog.ts';

describe('simulated edge backlog', () => {
  it('serves oldest first, reporting how long each cohort waited', () => {
    const b = new Backlog();
    b.arrive(0, 3);
    b.arrive(1, 4);
    const served: [number, number][] = [];
    b.serve(1, 5, (count, waitedMs) => served.push([count, waitedMs]));
    expect(served).toEqual([
      [3, 1000],
      [2, 0],
    ]);
    expect(b.total()).toBe(2);
  });

  it('sheds the newest beyond the limit and times out what waited past the deadline', () => {
    const b = new Backlog();
    b.arrive(0, 2);
    b.arrive(1, 2);
    b.arrive(2, 2);
    const shed: number[] = [];
    b.shedAbove(3, (count) => shed.push(count));
    expect(shed).toEqual([2, 1]);
    const timedOut: number[] = [];
    b.expire(2, 2000, (count) => timedOut.push(count));
    expect(timedOut).toEqual([2]);
    expect(b.total()).toBe(1);
  });

  it('loses the same share of every waiting cohort when hosts die', () => {
    const b = new Backlog();
    b.arrive(0, 4);
    b.arrive(1, 2);
    expect(b.loseShare(0.5)).toBe(3);
    expect(b.total()).toBe(3);
  });
});

import { describe, expect, it } from 'vitest';
import { type InstanceView, pickDrains } from '../../../workers/control/drain-picker.ts';
import { lastActiveAt, pruneSamples, windowMean } from '../../../workers/control/load-window.ts';
import { scaleDownLimit, scaleUpLimit } from '../../../workers/control/scale-limits.ts';

describe('load window (time-weighted mean)', () => {
  it.each([
    {
      name: 'constant load',
      samples: [0, 10, 20, 30].map((at) => ({ at: at * 1000, inflight: 8 })),
      now: 30_000,
      w: 30_000,
      mean: 8,
    },
    {
      name: 'step down weighs by time held',
      samples: [
        { at: 0, inflight: 12 },
        { at: 45_000, inflight: 0 },
      ],
      now: 60_000,
      w: 60_000,
      mean: 9,
    },
    {
      name: 'sample in force at the window start is carried in',
      samples: [
        { at: 0, inflight: 6 },
        { at: 50_000, inflight: 12 },
      ],
      now: 60_000,
      w: 20_000,
      mean: 9,
    },
    {
      name: 'window longer than history starts at the first sample',
      samples: [{ at: 50_000, inflight: 4 }],
      now: 60_000,
      w: 60_000,
      mean: 4,
    },
    {
      name: 'samples after now are ignored',
      samples: [
        { at: 0, inflight: 2 },
        { at: 70_000, inflight: 100 },
      ],
      now: 60_000,
      w: 60_000,
      mean: 2,
    },
    {
      name: 'negative readings count as zero',
      samples: [{ at: 0, inflight: -5 }],
      now: 10_000,
      w: 10_000,
      mean: 0,
    },
  ])('$name', ({ samples, now, w, mean }) => {
    expect(windowMean(samples, now, w)).toBeCloseTo(mean, 9);
  });

  it('is null without any sample at or before now', () => {
    expect(windowMean([], 1000, 1000)).toBeNull();
    expect(windowMean([{ at: 2000, inflight: 1 }], 1000, 1000)).toBeNull();
  });

  it('finds the last sample with load and keeps only what the window needs', () => {
    const samples = [0, 10, 20, 30, 40].map((s, i) => ({ at: s * 1000, inflight: i === 2 ? 3 : 0 }));
    expect(lastActiveAt(samples, 40_000)).toBe(20_000);
    expect(
      lastActiveAt(
        samples.map((s) => ({ ...s, inflight: 0 })),
        40_000,
      ),
    ).toBeNull();
    expect(pruneSamples(samples, 40_000, 15_000).map((s) => s.at)).toEqual([20_000, 30_000, 40_000]);
  });
});

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

describe('drain picker', () => {
  const fleet: InstanceView[] = [
    { id: 'busy', state: 'ready', inflight: 3, hourlyCostUsd: 9 },
    { id: 'cheap-idle', state: 'ready', inflight: 0, hourlyCostUsd: 1, launchedAt: 5 },
    { id: 'dear-idle', state: 'ready', inflight: 0, hourlyCostUsd: 3, launchedAt: 1 },
    { id: 'cheap-idle-new', state: 'ready', inflight: 0, hourlyCostUsd: 1, launchedAt: 9 },
    { id: 'boot-old', state: 'booting', inflight: 0, launchedAt: 10 },
    { id: 'boot-new', state: 'booting', inflight: 0, launchedAt: 20 },
    { id: 'leaving', state: 'draining', inflight: 0, hourlyCostUsd: 99 },
  ];
  it('takes booting (newest first), then idle ready (dearest, then newest first)', () => {
    expect(pickDrains(fleet, 10)).toEqual([
      'boot-new',
      'boot-old',
      'dear-idle',
      'cheap-idle-new',
      'cheap-idle',
    ]);
    expect(pickDrains(fleet, 3)).toEqual(['boot-new', 'boot-old', 'dear-idle']);
  });
  it('never picks a busy or draining instance, and nothing for a count of zero', () => {
    expect(pickDrains(fleet, 10)).not.toContain('busy');
    expect(pickDrains(fleet, 10)).not.toContain('leaving');
    expect(pickDrains(fleet, 0)).toEqual([]);
  });
});

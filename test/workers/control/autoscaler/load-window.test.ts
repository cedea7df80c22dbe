import { describe, expect, it } from 'vitest';
import {
  lastActiveAt,
  pruneSamples,
  windowMean,
} from '../../../../workers/control/autoscaler/load-window.ts';

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

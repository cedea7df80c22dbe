import { describe, expect, it } from 'vitest';
import { retryAfterSeconds } from '../../../origin/batching/retry-after.ts';

describe('retryAfterSeconds', () => {
  it('is 1 s before any batch has run', () => {
    expect(
      retryAfterSeconds({ avgBatchMs: undefined, queuedItems: 1000, maxBatchSize: 8, concurrency: 1 }),
    ).toBe(1);
  });

  it('is batch duration x queued batches over the runners, rounded up, at least 1 s', () => {
    // 80 items / 8 = 10 batches; 10 x 500 ms = 5 s.
    expect(retryAfterSeconds({ avgBatchMs: 500, queuedItems: 80, maxBatchSize: 8, concurrency: 1 })).toBe(5);
    // Two runners: 5 waves x 500 ms = 2.5 s -> 3.
    expect(retryAfterSeconds({ avgBatchMs: 500, queuedItems: 80, maxBatchSize: 8, concurrency: 2 })).toBe(3);
    expect(retryAfterSeconds({ avgBatchMs: 10, queuedItems: 8, maxBatchSize: 8, concurrency: 1 })).toBe(1);
  });

  it('counts one request per batch for non-batching models and caps at 60 s', () => {
    expect(retryAfterSeconds({ avgBatchMs: 1000, queuedItems: 3, maxBatchSize: 0, concurrency: 1 })).toBe(3);
    expect(retryAfterSeconds({ avgBatchMs: 1000, queuedItems: 1e6, maxBatchSize: 1, concurrency: 1 })).toBe(
      60,
    );
  });
});

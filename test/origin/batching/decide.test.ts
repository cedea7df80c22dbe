import { describe, expect, it } from 'vitest';
import type { BatchPolicy } from '../../../origin/batching/compile-policy.ts';
import { decide, nextWakeMs, type QueuedView } from '../../../origin/batching/decide.ts';
import { compiledPolicy } from './batching-config.ts';

const policy = compiledPolicy;

function req(size = 1, enqueuedAt = 0, batchKey = 'k', priority = 1): QueuedView {
  return { batchKey, size, priority, enqueuedAt, deadline: Number.POSITIVE_INFINITY };
}

function singles(n: number, enqueuedAt = 0): QueuedView[] {
  return Array.from({ length: n }, () => req(1, enqueuedAt));
}

function run(queue: QueuedView[], p: BatchPolicy, now = 0, freeSlots = 1, flush = false) {
  return decide({ queue, now, freeSlots, flush }, p);
}
describe('decide: basics', () => {
  it('is idle on an empty queue', () => {
    expect(run([], policy())).toEqual({ kind: 'idle' });
  });

  it('is idle when no runner is free, however much is queued', () => {
    expect(run(singles(100), policy(), 0, 0)).toEqual({ kind: 'idle' });
  });

  it('runs a lone request at once when delay is 0', () => {
    expect(run([req()], policy())).toEqual({ kind: 'run', take: 1, items: 1, reason: 'no-delay' });
  });

  it('runs everything queued (up to max) at once when delay is 0', () => {
    expect(run(singles(5), policy())).toEqual({ kind: 'run', take: 5, items: 5, reason: 'no-delay' });
  });

  it('waits for more when delay > 0 and the batch is below max', () => {
    expect(run([req(1, 10)], policy({ maxQueueDelayMicros: 500 }), 10)).toEqual({
      kind: 'wait',
      untilMs: 10.5,
    });
  });

  it('runs maxBatchSize 0 (non-batching) requests alone and never waits', () => {
    const p = policy({ maxBatchSize: 0, maxQueueDelayMicros: 10_000 });
    expect(run([req(3), req(1)], p)).toEqual({ kind: 'run', take: 1, items: 3, reason: 'unbatched' });
  });
});

describe('decide: max batch size', () => {
  it('runs a full batch of exactly max items at once, even with a delay', () => {
    const d = run(singles(8), policy({ maxQueueDelayMicros: 1_000_000 }));
    expect(d).toEqual({ kind: 'run', take: 8, items: 8, reason: 'preferred' });
  });

  it('takes only max items when more are queued', () => {
    const d = run(singles(20), policy({ maxQueueDelayMicros: 1_000_000 }));
    expect(d).toMatchObject({ kind: 'run', take: 8, items: 8 });
  });

  it('never splits a request: the one that does not fit is left for the next batch', () => {
    const d = run([req(5), req(4)], policy({ maxQueueDelayMicros: 1_000_000 }));
    expect(d).toEqual({ kind: 'run', take: 1, items: 5, reason: 'full' });
  });

  it('does not skip over a non-fitting request to take a smaller later one (FIFO)', () => {
    const d = run([req(4), req(3), req(2)], policy());
    expect(d).toEqual({ kind: 'run', take: 2, items: 7, reason: 'full' });
  });

  it('runs a cut batch at once instead of waiting, since it cannot grow', () => {
    const d = run([req(4), req(3), req(2)], policy({ maxQueueDelayMicros: 1_000_000 }));
    expect(d).toEqual({ kind: 'run', take: 2, items: 7, reason: 'full' });
    const keyed = run([req(4), req(1, 0, 'other')], policy({ maxQueueDelayMicros: 1_000_000 }));
    expect(keyed).toEqual({ kind: 'run', take: 1, items: 4, reason: 'cut' });
    const p = policy({ maxQueueDelayMicros: 1_000_000, preferredBatchSizes: [8] });
    expect(run([req(2), req(3), req(4)], p)).toEqual({ kind: 'run', take: 2, items: 5, reason: 'full' });
  });

  it('reads at most maxBatchSize + 1 requests, whatever the queue length', () => {
    let reads = 0;
    const queue: Iterable<QueuedView> = {
      *[Symbol.iterator]() {
        for (let i = 0; i < 100_000; i++) {
          reads++;
          yield req(1);
        }
      },
    };
    const d = decide({ queue, now: 0, freeSlots: 1 }, policy({ maxBatchSize: 8 }));
    expect(d).toMatchObject({ kind: 'run', take: 8 });
    expect(reads).toBeLessThanOrEqual(9);
  });
});

describe('decide: queue delay window', () => {
  const p = policy({ maxQueueDelayMicros: 1000 });

  it('measures the delay from the OLDEST request in the candidate batch', () => {
    const queue = [req(1, 0), req(1, 0.6)];
    expect(run(queue, p, 0.7)).toEqual({ kind: 'wait', untilMs: 1 });
  });

  it('runs what there is once the oldest request has waited the delay', () => {
    const queue = [req(1, 0), req(1, 0.6)];
    expect(run(queue, p, 1)).toEqual({ kind: 'run', take: 2, items: 2, reason: 'delay' });
  });

  it('is exact at the boundary: waits just before, runs at the instant', () => {
    expect(run([req(1, 2)], p, 2.999)).toEqual({ kind: 'wait', untilMs: 3 });
    expect(run([req(1, 2)], p, 3)).toMatchObject({ kind: 'run', reason: 'delay' });
  });

  it('uses the oldest request even when it is not at the head (an older lower-priority request)', () => {
    const queue = [req(1, 1.5, 'k', 1), req(1, 1, 'k', 2)];
    expect(run(queue, p, 1.6)).toEqual({ kind: 'wait', untilMs: 2 });
    expect(run(queue, p, 2)).toMatchObject({ kind: 'run', take: 2, reason: 'delay' });
  });

  it('ignores requests outside the candidate batch when finding the oldest', () => {
    const queue = [req(1, 5, 'a'), req(1, 0, 'b')];
    // The 'b' request cuts the batch, so [a] runs at once whatever its age.
    expect(run(queue, p, 5)).toEqual({ kind: 'run', take: 1, items: 1, reason: 'cut' });
  });

  it('never waits when flushing (draining)', () => {
    expect(run([req(1, 0)], p, 0, 1, true)).toEqual({ kind: 'run', take: 1, items: 1, reason: 'flush' });
  });
});

describe('decide: idle rule (no added wait for a lone request when every runner is idle)', () => {
  const p = policy({ maxQueueDelayMicros: 1000 });
  const decideIdle = (queue: QueuedView[], idle: boolean | undefined, now = 0, q = p) =>
    decide({ queue, now, freeSlots: 1, idle }, q);

  it('runs a lone request at once when idle, even with delay > 0', () => {
    expect(decideIdle([req(1, 0)], true)).toEqual({ kind: 'run', take: 1, items: 1, reason: 'idle' });
    expect(decideIdle([req(3, 0)], true)).toEqual({ kind: 'run', take: 1, items: 3, reason: 'idle' });
  });

  it('waits for the delay with the same lone request when a runner is busy (or idleness is not known)', () => {
    expect(decideIdle([req(1, 0)], false)).toEqual({ kind: 'wait', untilMs: 1 });
    expect(decideIdle([req(1, 0)], undefined)).toEqual({ kind: 'wait', untilMs: 1 });
  });

  it('waits for the delay when idle but two requests are queued', () => {
    expect(decideIdle([req(1, 0), req(1, 0.2)], true)).toEqual({ kind: 'wait', untilMs: 1 });
  });

  it('leaves the earlier rules in charge: preferred, cut and delay keep their reasons', () => {
    const q = policy({ preferredBatchSizes: [2, 4], maxQueueDelayMicros: 1000 });
    expect(decideIdle([req(2, 0)], true, 0, q)).toEqual({
      kind: 'run',
      take: 1,
      items: 2,
      reason: 'preferred',
    });
    expect(decideIdle([req(1, 0, 'a'), req(1, 0, 'b')], true)).toEqual({
      kind: 'run',
      take: 1,
      items: 1,
      reason: 'cut',
    });
    expect(decideIdle([req(1, 0)], true, 1)).toEqual({ kind: 'run', take: 1, items: 1, reason: 'delay' });
    expect(decideIdle([req(1, 0)], true, 0, policy())).toMatchObject({ reason: 'no-delay' });
  });

  it('does nothing when no runner is free', () => {
    expect(decide({ queue: [req(1, 0)], now: 0, freeSlots: 0, idle: true }, p)).toEqual({ kind: 'idle' });
  });
});

describe('decide: preferred batch sizes', () => {
  const p = policy({ maxBatchSize: 8, preferredBatchSizes: [2, 4], maxQueueDelayMicros: 1000 });

  it('runs the largest preferred size reachable at once, leaving the rest queued', () => {
    expect(run(singles(3), p)).toEqual({ kind: 'run', take: 2, items: 2, reason: 'preferred' });
    expect(run(singles(5), p)).toEqual({ kind: 'run', take: 4, items: 4, reason: 'preferred' });
  });

  it('prefers the largest preferred size over max_batch_size when more than max is queued', () => {
    const q = policy({ maxBatchSize: 16, preferredBatchSizes: [4, 8], maxQueueDelayMicros: 1000 });
    expect(run(singles(16), q)).toEqual({ kind: 'run', take: 8, items: 8, reason: 'preferred' });
  });

  it('counts items, not requests, when matching a preferred size', () => {
    expect(run([req(3), req(1), req(2)], p)).toEqual({ kind: 'run', take: 2, items: 4, reason: 'preferred' });
  });

  it('waits when no preferred size can be formed yet and the delay has not expired', () => {
    expect(run([req(1, 0)], p, 0.5)).toEqual({ kind: 'wait', untilMs: 1 });
    expect(run([req(3, 0)], p, 0.5)).toEqual({ kind: 'wait', untilMs: 1 });
  });

  it('runs everything fitting (not just the preferred prefix) once the delay has expired', () => {
    expect(run(singles(3), p, 1)).toEqual({ kind: 'run', take: 3, items: 3, reason: 'delay' });
  });

  it('cuts before the largest preferred size would be exceeded and runs that at once', () => {
    const q = policy({ maxBatchSize: 8, preferredBatchSizes: [4], maxQueueDelayMicros: 1000 });
    expect(run([req(3), req(3)], q)).toEqual({ kind: 'run', take: 1, items: 3, reason: 'full' });
  });

  it('runs a request larger than every preferred size at once', () => {
    expect(run([req(6)], p)).toEqual({ kind: 'run', take: 1, items: 6, reason: 'full' });
  });

  it('still splits at a preferred size when delay is 0', () => {
    const q = policy({ maxBatchSize: 8, preferredBatchSizes: [2, 4], maxQueueDelayMicros: 0 });
    expect(run(singles(3), q)).toEqual({ kind: 'run', take: 2, items: 2, reason: 'preferred' });
    expect(run([req(3)], q)).toEqual({ kind: 'run', take: 1, items: 3, reason: 'no-delay' });
  });
});

describe('decide: batch keys and priorities', () => {
  it('only batches requests whose batchKey equals the head request', () => {
    const queue = [req(1, 0, 'a'), req(1, 0, 'a'), req(1, 0, 'b'), req(1, 0, 'a')];
    expect(run(queue, policy())).toEqual({ kind: 'run', take: 2, items: 2, reason: 'cut' });
  });

  it('runs a batch cut by another key at once even with a delay', () => {
    const queue = [req(1, 0, 'a'), req(1, 0, 'b')];
    expect(run(queue, policy({ maxQueueDelayMicros: 1_000_000 }))).toMatchObject({ kind: 'run', take: 1 });
  });

  it('forms the batch across priority levels in queue order while keys match', () => {
    const queue = [req(1, 3, 'k', 1), req(1, 2, 'k', 2), req(1, 1, 'k', 3)];
    expect(run(queue, policy())).toEqual({ kind: 'run', take: 3, items: 3, reason: 'no-delay' });
  });
});

describe('nextWakeMs', () => {
  it('wakes at the earlier of the delay window and the earliest deadline', () => {
    expect(nextWakeMs({ kind: 'wait', untilMs: 5 }, 3)).toBe(3);
    expect(nextWakeMs({ kind: 'wait', untilMs: 5 }, Number.POSITIVE_INFINITY)).toBe(5);
    expect(nextWakeMs({ kind: 'idle' }, 7)).toBe(7);
    expect(nextWakeMs({ kind: 'run', take: 1, items: 1, reason: 'cut' }, Number.POSITIVE_INFINITY)).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});

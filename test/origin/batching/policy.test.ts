import { describe, expect, it } from 'vitest';
import {
  type BatchingConfig,
  type BatchPolicy,
  checkRequest,
  compilePolicy,
  deadlineOf,
  decide,
  effectiveTimeoutMicros,
  isExpired,
  nextWakeMs,
  priorityLevel,
  type QueuedView,
  retryAfterSeconds,
} from '../../../origin/batching/index.ts';
import { AppError } from '../../../shared/errors/index.ts';

const BASE: BatchingConfig = {
  maxBatchSize: 8,
  preferredBatchSizes: [],
  maxQueueDelayMicros: 0,
  maxQueueSize: 0,
  defaultTimeoutMicros: 0,
  priorityLevels: 0,
  defaultPriorityLevel: 0,
  concurrency: 1,
};

function policy(over: Partial<BatchingConfig> = {}): BatchPolicy {
  return compilePolicy({ ...BASE, ...over }, 'resnet');
}

function req(size = 1, enqueuedAt = 0, batchKey = 'k', priority = 1): QueuedView {
  return { batchKey, size, priority, enqueuedAt, deadline: Number.POSITIVE_INFINITY };
}

function singles(n: number, enqueuedAt = 0): QueuedView[] {
  return Array.from({ length: n }, () => req(1, enqueuedAt));
}

function run(queue: QueuedView[], p: BatchPolicy, now = 0, freeSlots = 1, flush = false) {
  return decide({ queue, now, freeSlots, flush }, p);
}

describe('compilePolicy', () => {
  it('treats an empty preferred list as [max_batch_size], as Triton normalizes it', () => {
    const p = policy({ maxBatchSize: 16 });
    expect([...p.preferred]).toEqual([16]);
    expect(p.maxPreferred).toBe(16);
  });

  it('uses the largest preferred size as maxPreferred and converts the delay to ms', () => {
    const p = policy({ preferredBatchSizes: [2, 6, 4], maxQueueDelayMicros: 1500 });
    expect(p.maxPreferred).toBe(6);
    expect(p.delayMs).toBe(1.5);
  });

  it('resolves default priority level 0 to the lowest level and disables priorities at 0 levels', () => {
    expect(policy({ priorityLevels: 5, defaultPriorityLevel: 0 }).defaultLevel).toBe(5);
    expect(policy({ priorityLevels: 5, defaultPriorityLevel: 2 }).defaultLevel).toBe(2);
    const off = policy({ priorityLevels: 0 });
    expect(off.priorityEnabled).toBe(false);
    expect(off.levels).toBe(1);
    expect(off.defaultLevel).toBe(1);
  });

  it.each<[Partial<BatchingConfig>, string]>([
    [{ preferredBatchSizes: [16] }, 'preferred_batch_size 16'],
    [{ preferredBatchSizes: [0] }, 'preferred_batch_size 0'],
    [{ maxBatchSize: 0, preferredBatchSizes: [2] }, 'max_batch_size is 0'],
    [{ concurrency: 0 }, 'instance count'],
    [{ priorityLevels: 2, defaultPriorityLevel: 3 }, 'default_priority_level'],
    [{ maxQueueDelayMicros: -1 }, 'max_queue_delay_microseconds'],
    [{ maxQueueSize: 1.5 }, 'max_queue_size'],
    [{ maxBatchSize: -1 }, 'max_batch_size'],
  ])('rejects an invalid config %o with MODEL_LOAD_FAILED naming the field', (over, field) => {
    let caught: unknown;
    try {
      policy(over);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).code).toBe('MODEL_LOAD_FAILED');
    expect((caught as AppError).message).toContain('resnet');
    expect((caught as AppError).message).toContain(field);
  });
});

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

  it('wakes at the earlier of the delay window and the earliest deadline', () => {
    expect(nextWakeMs({ kind: 'wait', untilMs: 5 }, 3)).toBe(3);
    expect(nextWakeMs({ kind: 'wait', untilMs: 5 }, Number.POSITIVE_INFINITY)).toBe(5);
    expect(nextWakeMs({ kind: 'idle' }, 7)).toBe(7);
    expect(nextWakeMs({ kind: 'run', take: 1, items: 1, reason: 'cut' }, Number.POSITIVE_INFINITY)).toBe(
      Number.POSITIVE_INFINITY,
    );
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

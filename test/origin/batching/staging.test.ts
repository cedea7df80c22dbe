import { describe, expect, it, vi } from 'vitest';
import { Batcher } from '../../../origin/batching/batcher.ts';
import {
  type BatchingConfig,
  type BatchPolicy,
  compilePolicy,
} from '../../../origin/batching/compile-policy.ts';
import { decide, type QueuedView } from '../../../origin/batching/decide.ts';
import type { BatchInfo, BatchItem } from '../../../origin/batching/execute-batch.ts';
import { FakeClock, flushPromises } from '../../support/fake-clock.ts';
import { BASE_BATCHING } from './batching-config.ts';

const BASE: BatchingConfig = { ...BASE_BATCHING, maxQueueDelayMicros: 2000 };

const policy = (over: Partial<BatchingConfig> = {}): BatchPolicy =>
  compilePolicy({ ...BASE, ...over }, 'cls');
const req = (size = 1, enqueuedAt = 0, batchKey = 'k'): QueuedView => ({
  batchKey,
  size,
  priority: 1,
  enqueuedAt,
  deadline: Number.POSITIVE_INFINITY,
});
const singles = (n: number) => Array.from({ length: n }, () => req());
/** Every runner busy; `stageSlots` batches may be handed over ahead. */
const busy = (queue: QueuedView[], p: BatchPolicy, stageSlots = 1, now = 0) =>
  decide({ queue, now, freeSlots: 0, stageSlots, idle: false }, p);

describe('decide: staging while every runner is busy', () => {
  it('stages a batch that already holds max_batch_size items', () => {
    // With no preferred sizes listed, max_batch_size is the only preferred size.
    expect(busy(singles(8), policy())).toEqual({ kind: 'run', take: 8, items: 8, reason: 'preferred' });
    expect(busy([req(6), req(3)], policy())).toEqual({ kind: 'run', take: 1, items: 6, reason: 'full' });
  });

  it('stages the largest preferred size once the queue reaches it, leaving the rest queued', () => {
    const p = policy({ maxBatchSize: 32, preferredBatchSizes: [8, 16, 32] });
    expect(busy(singles(40), p)).toEqual({ kind: 'run', take: 32, items: 32, reason: 'preferred' });
  });

  it('does not stage a batch that could still grow, even past a smaller preferred size or the delay', () => {
    const p = policy({ maxBatchSize: 32, preferredBatchSizes: [8, 16, 32] });
    expect(busy(singles(20), p)).toEqual({ kind: 'idle' });
    expect(busy(singles(3), policy(), 1, 100)).toEqual({ kind: 'idle' });
  });

  it('stages a batch cut by a request of another shape, which FIFO order forbids from growing', () => {
    expect(busy([req(1, 0, 'a'), req(1, 0, 'a'), req(1, 0, 'b')], policy())).toEqual({
      kind: 'run',
      take: 2,
      items: 2,
      reason: 'cut',
    });
  });

  it('stages any request of a model that does not batch', () => {
    expect(busy([req()], policy({ maxBatchSize: 0 }))).toEqual({
      kind: 'run',
      take: 1,
      items: 1,
      reason: 'unbatched',
    });
  });

  it('never stages a batch holding a request with a timeout, which must still be able to expire', () => {
    const timed: QueuedView = { ...req(), deadline: 50 };
    expect(busy([...singles(7), timed], policy())).toEqual({ kind: 'idle' });
    expect(busy([timed], policy({ maxBatchSize: 0 }))).toEqual({ kind: 'idle' });
    // Outside the batch it does not matter.
    expect(busy([...singles(8), timed], policy())).toMatchObject({ kind: 'run', take: 8 });
  });

  it("keeps Triton's behaviour without stage slots: nothing runs while every runner is busy", () => {
    expect(busy(singles(8), policy(), 0)).toEqual({ kind: 'idle' });
    expect(decide({ queue: singles(8), now: 0, freeSlots: 0 }, policy())).toEqual({ kind: 'idle' });
  });
});

function setup(stageBatches: number, over: Partial<BatchingConfig> = {}) {
  const clock = new FakeClock();
  const calls: Array<{ payloads: string[]; resolve: () => void }> = [];
  const execute = vi.fn(
    (batch: Array<BatchItem<string>>) =>
      new Promise<string[]>((resolve) => {
        calls.push({
          payloads: batch.map((b) => b.payload),
          resolve: () => resolve(batch.map((b) => `r:${b.payload}`)),
        });
      }),
  );
  const batches: BatchInfo[] = [];
  const batcher = new Batcher<string, string>({
    name: 'cls',
    config: { ...BASE, maxBatchSize: 4, ...over },
    execute,
    clock,
    stageBatches,
    observer: { onBatch: (info) => batches.push(info) },
  });
  const enq = (...payloads: string[]) =>
    payloads.map((payload) => batcher.enqueue({ payload, batchKey: 'k', size: 1 }));
  return { clock, calls, batcher, enq, batches };
}

describe('Batcher with stageBatches', () => {
  it('hands a full batch to execute while the previous one still runs, and no more than the stage depth', async () => {
    const { calls, enq, batcher } = setup(1);
    enq('a1', 'a2', 'a3', 'a4');
    await flushPromises();
    enq('b1', 'b2', 'b3', 'b4');
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([
      ['a1', 'a2', 'a3', 'a4'],
      ['b1', 'b2', 'b3', 'b4'],
    ]);
    enq('c1', 'c2', 'c3', 'c4');
    await flushPromises();
    expect(calls).toHaveLength(2);
    expect(batcher.stats()).toMatchObject({ queued: 4, inFlightBatches: 2 });
  });

  it('does not stage a partial batch: it waits for a free runner or its delay as before', async () => {
    const { calls, enq, clock } = setup(1);
    enq('a1', 'a2', 'a3', 'a4');
    await flushPromises();
    enq('b1', 'b2');
    await flushPromises();
    expect(calls).toHaveLength(1);
    clock.advance(5);
    await flushPromises();
    expect(calls).toHaveLength(1);
    calls[0]!.resolve();
    await flushPromises();
    expect(calls.map((c) => c.payloads)[1]).toEqual(['b1', 'b2']);
  });

  it('without stageBatches a full batch waits for the runner (Triton behaviour)', async () => {
    const { calls, enq } = setup(0);
    enq('a1', 'a2', 'a3', 'a4');
    await flushPromises();
    enq('b1', 'b2', 'b3', 'b4');
    await flushPromises();
    expect(calls).toHaveLength(1);
    calls[0]!.resolve();
    await flushPromises();
    expect(calls).toHaveLength(2);
  });

  it('counts the wait of a staged batch as queue time and times its compute from when the runner took it', async () => {
    const { calls, enq, clock, batches } = setup(1);
    const first = enq('a1', 'a2', 'a3', 'a4');
    await flushPromises();
    clock.advance(1);
    const second = enq('b1', 'b2', 'b3', 'b4');
    await flushPromises();
    expect(calls).toHaveLength(2); // staged at t = 1
    clock.advance(9);
    calls[0]!.resolve(); // t = 10: the runner takes the staged batch
    await Promise.all(first);
    clock.advance(5);
    calls[1]!.resolve(); // t = 15
    await Promise.all(second);
    expect(batches.map((b) => b.computeMicros)).toEqual([10_000, 5_000]);
    expect(batches[1]!.queueMicros).toEqual([9_000, 9_000, 9_000, 9_000]);
  });

  it('resolves every request of staged batches with its own result', async () => {
    const { calls, enq } = setup(1);
    const a = enq('a1', 'a2', 'a3', 'a4');
    await flushPromises();
    const b = enq('b1', 'b2', 'b3', 'b4');
    await flushPromises();
    calls[0]!.resolve();
    calls[1]!.resolve();
    expect(await Promise.all([...a, ...b])).toEqual(
      ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'b4'].map((p) => `r:${p}`),
    );
  });

  it('refuses a negative or fractional stage depth', () => {
    for (const stageBatches of [-1, 0.5]) {
      expect(() => new Batcher({ name: 'x', config: BASE, execute: async () => [], stageBatches })).toThrow(
        /stageBatches/,
      );
    }
  });
});

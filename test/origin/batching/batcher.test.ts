import { describe, expect, it, vi } from 'vitest';
import { Batcher } from '../../../origin/batching/batcher.ts';
import type { BatchingConfig } from '../../../origin/batching/compile-policy.ts';
import { type BatchInfo, type BatchItem, RequestFailure } from '../../../origin/batching/execute-batch.ts';
import type { EnqueueRequest } from '../../../origin/batching/pending-request.ts';
import { AppError, type ErrorCode } from '../../../shared/errors/index.ts';
import { FakeClock, flushPromises } from '../../support/fake-clock.ts';
import { BASE_BATCHING } from './batching-config.ts';

const BASE = BASE_BATCHING;

interface Call {
  batch: Array<BatchItem<string>>;
  payloads: string[];
  /** Resolves with `r:<payload>` per request unless results are given. */
  resolve(results?: Array<string | RequestFailure>): void;
  reject(err: unknown): void;
}

interface Outcome {
  status: 'pending' | 'fulfilled' | 'rejected';
  value?: string;
  error?: AppError;
}

function track(p: Promise<string>): Outcome {
  const o: Outcome = { status: 'pending' };
  p.then(
    (value) => {
      o.status = 'fulfilled';
      o.value = value;
    },
    (error: AppError) => {
      o.status = 'rejected';
      o.error = error;
    },
  );
  return o;
}

function setup(over: Partial<BatchingConfig> = {}) {
  const clock = new FakeClock();
  const calls: Call[] = [];
  const execute = vi.fn(
    (batch: Array<BatchItem<string>>) =>
      new Promise<Array<string | RequestFailure>>((resolve, reject) => {
        calls.push({
          batch,
          payloads: batch.map((b) => b.payload),
          resolve: (results) => resolve(results ?? batch.map((b) => `r:${b.payload}`)),
          reject,
        });
      }),
  );
  const batches: BatchInfo[] = [];
  const rejects: ErrorCode[] = [];
  const batcher = new Batcher<string, string>({
    name: 'resnet',
    config: { ...BASE, ...over },
    execute,
    clock,
    observer: { onBatch: (info) => batches.push(info), onReject: (code) => rejects.push(code) },
  });
  const enq = (payload: string, extra: Partial<EnqueueRequest<string>> = {}) =>
    track(batcher.enqueue({ payload, batchKey: 'k', size: 1, ...extra }));
  return { clock, calls, execute, batcher, enq, batches, rejects };
}

describe('Batcher: when batches run', () => {
  it('decides in a microtask after enqueue: never inside enqueue, and a burst is decided as a whole', async () => {
    const { calls, enq, batcher } = setup();
    enq('a');
    enq('b');
    expect(calls).toHaveLength(0);
    expect(batcher.stats()).toEqual({ queued: 2, queuedItems: 2, inFlightBatches: 0, inFlightItems: 0 });
    await Promise.resolve();
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
    expect(batcher.stats()).toEqual({ queued: 0, queuedItems: 0, inFlightBatches: 1, inFlightItems: 2 });
  });

  it('runs a lone request at once when the runner is idle and delay is 0', async () => {
    const { calls, enq, clock } = setup();
    const a = enq('a');
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['a']]);
    expect(clock.pendingTimers).toBe(0);
    calls[0]!.resolve();
    await flushPromises();
    expect(a).toEqual({ status: 'fulfilled', value: 'r:a' });
  });

  it('runs a lone request at once on an idle batcher even when delay > 0 (no added wait at low load)', async () => {
    const { calls, enq, clock } = setup({ maxQueueDelayMicros: 500 });
    const a = enq('a');
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['a']]);
    expect(clock.now()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    calls[0]!.resolve();
    await flushPromises();
    expect(a.value).toBe('r:a');
  });

  it('waits up to the delay for a lone request while a runner is busy, then runs it alone', async () => {
    const { calls, enq, clock } = setup({ maxQueueDelayMicros: 500, concurrency: 2 });
    enq('busy');
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['busy']]);
    enq('a');
    await flushPromises();
    expect(calls).toHaveLength(1);
    clock.advance(0.499);
    expect(calls).toHaveLength(1);
    clock.advance(0.001);
    expect(calls.map((c) => c.payloads)).toEqual([['busy'], ['a']]);
  });

  it('runs a lone request waiting behind a busy runner before its delay when a preferred size forms', async () => {
    const { calls, enq, clock } = setup({
      preferredBatchSizes: [2],
      maxQueueDelayMicros: 1000,
      concurrency: 2,
    });
    enq('busy');
    await flushPromises();
    enq('a');
    await flushPromises();
    clock.advance(0.5);
    expect(calls).toHaveLength(1);
    enq('b');
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['busy'], ['a', 'b']]);
    expect(clock.now()).toBe(0.5);
  });

  it('runs a lone waiting request at once when the busy runner finishes and the batcher becomes idle', async () => {
    const { calls, enq, clock } = setup({ maxQueueDelayMicros: 1000, concurrency: 2 });
    enq('busy');
    await flushPromises();
    enq('a');
    await flushPromises();
    clock.advance(0.3);
    expect(calls).toHaveLength(1);
    calls[0]!.resolve();
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['busy'], ['a']]);
    expect(clock.now()).toBe(0.3);
  });

  it('does not split two requests queued in one step on an idle batcher: they wait for the delay together', async () => {
    const { calls, enq, clock } = setup({ maxQueueDelayMicros: 500 });
    enq('a');
    enq('b');
    await flushPromises();
    expect(calls).toHaveLength(0);
    clock.advance(0.499);
    expect(calls).toHaveLength(0);
    clock.advance(0.001);
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
  });

  it('measures the delay window from the oldest request, not the newest', async () => {
    const { calls, enq, clock } = setup({ maxQueueDelayMicros: 500, concurrency: 2 });
    enq('busy');
    await flushPromises();
    enq('a');
    await flushPromises();
    clock.advance(0.3);
    enq('b');
    await flushPromises();
    clock.advance(0.199);
    expect(calls).toHaveLength(1);
    clock.advance(0.001);
    expect(calls.map((c) => c.payloads)).toEqual([['busy'], ['a', 'b']]);
    expect(clock.now()).toBe(0.5);
  });

  it('runs a full batch at once without waiting for the delay', async () => {
    const { calls, enq } = setup({ maxBatchSize: 4, maxQueueDelayMicros: 10_000 });
    for (const p of ['a', 'b', 'c', 'd', 'e']) enq(p);
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b', 'c', 'd']]);
  });

  it('runs a reachable preferred size at once and the remainder after the delay', async () => {
    const { calls, enq, clock } = setup({
      preferredBatchSizes: [2],
      maxQueueDelayMicros: 1000,
      concurrency: 2,
    });
    enq('a');
    enq('b');
    enq('c');
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
    clock.advance(0.999);
    expect(calls).toHaveLength(1);
    clock.advance(0.001);
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b'], ['c']]);
  });

  it('leaves a request that does not fit for the next batch, never splitting it', async () => {
    const { calls, enq } = setup({ maxBatchSize: 4 });
    const big = enq('big', { size: 3 });
    const two = enq('two', { size: 2 });
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['big']]);
    calls[0]!.resolve();
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['big'], ['two']]);
    expect(calls[1]!.batch).toEqual([{ payload: 'two', size: 2 }]);
    calls[1]!.resolve();
    await flushPromises();
    expect([big.value, two.value]).toEqual(['r:big', 'r:two']);
  });

  it('never puts requests with different batch keys in one batch', async () => {
    const { calls, enq, clock } = setup({ maxQueueDelayMicros: 1000, concurrency: 3 });
    enq('a1', { batchKey: 'a' });
    enq('b1', { batchKey: 'b' });
    enq('a2', { batchKey: 'a' });
    await flushPromises();
    // [a1] is cut by b1 and [b1] by a2: both run at once; a2 waits for the delay (runners are busy).
    expect(calls.map((c) => c.payloads)).toEqual([['a1'], ['b1']]);
    clock.advance(1);
    expect(calls.map((c) => c.payloads)).toEqual([['a1'], ['b1'], ['a2']]);
  });

  it('runs each request alone, without waiting, when maxBatchSize is 0', async () => {
    const { calls, enq } = setup({ maxBatchSize: 0, maxQueueDelayMicros: 10_000, concurrency: 3 });
    enq('a', { size: 5 });
    enq('b');
    await flushPromises();
    expect(calls.map((c) => c.batch)).toEqual([[{ payload: 'a', size: 5 }], [{ payload: 'b', size: 1 }]]);
  });

  it('keeps at most concurrency batches in flight and starts the next when one completes', async () => {
    const { calls, enq, batcher } = setup({ maxBatchSize: 1, concurrency: 2 });
    for (const p of ['a', 'b', 'c', 'd', 'e']) enq(p);
    await flushPromises();
    expect(calls).toHaveLength(2);
    expect(batcher.stats()).toEqual({ queued: 3, queuedItems: 3, inFlightBatches: 2, inFlightItems: 2 });
    calls[1]!.resolve();
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['a'], ['b'], ['c']]);
    expect(batcher.stats()).toMatchObject({ queued: 2, inFlightBatches: 2 });
  });

  it('forms a bigger batch from what queued while the runner was busy', async () => {
    const { calls, enq } = setup({ maxBatchSize: 8 });
    enq('a');
    await flushPromises();
    for (const p of ['b', 'c', 'd']) enq(p);
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['a']]);
    calls[0]!.resolve();
    await flushPromises();
    expect(calls[1]!.payloads).toEqual(['b', 'c', 'd']);
  });

  it('runs higher priority first, FIFO within a level, default level for requests without one', async () => {
    const { calls, enq } = setup({ maxBatchSize: 1, priorityLevels: 3, defaultPriorityLevel: 0 });
    enq('busy');
    await flushPromises();
    enq('low', { priority: 3 });
    enq('default');
    enq('high', { priority: 1 });
    enq('mid', { priority: 2 });
    enq('high2', { priority: 1 });
    for (let i = 0; i < 6; i++) {
      calls[i]?.resolve();
      await flushPromises();
    }
    expect(calls.map((c) => c.payloads[0])).toEqual(['busy', 'high', 'high2', 'mid', 'low', 'default']);
  });

  it('arms at most one timer however many requests wait', async () => {
    const { enq, clock, batcher } = setup({
      maxBatchSize: 64,
      maxQueueDelayMicros: 5000,
      defaultTimeoutMicros: 100_000,
    });
    enq('busy');
    await flushPromises();
    for (let i = 0; i < 50; i++) {
      enq(`r${i}`, { timeoutMicros: 1000 + i });
      await flushPromises();
      clock.advance(0.01);
    }
    expect(batcher.stats()).toMatchObject({ queued: 50, inFlightBatches: 1 });
    expect(clock.pendingTimers).toBe(1);
  });
});

describe('Batcher: dispatch hook', () => {
  it('tells each request when it leaves the queue, with its batch, before the batch runs', async () => {
    const { calls, enq } = setup();
    const seen: string[] = [];
    const hook = (name: string) => (batch: { items: number; requests: number }) => {
      seen.push(`${name}: ${batch.requests} requests, ${batch.items} items, ${calls.length} batches running`);
    };
    enq('a', { onDispatch: hook('a') });
    enq('b', { size: 2, onDispatch: hook('b') });
    await flushPromises();
    expect(seen).toEqual([
      'a: 2 requests, 3 items, 0 batches running',
      'b: 2 requests, 3 items, 0 batches running',
    ]);
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
  });

  it('serves the request even when its hook throws', async () => {
    const { calls, enq } = setup();
    const a = enq('a', {
      onDispatch: () => {
        throw new Error('tracing bug');
      },
    });
    await flushPromises();
    calls[0]!.resolve();
    await flushPromises();
    expect(a).toEqual({ status: 'fulfilled', value: 'r:a' });
  });
});

describe('Batcher: rejections', () => {
  it('rejects with QUEUE_FULL at once when max_queue_size requests are queued', async () => {
    const { calls, enq, rejects } = setup({ maxBatchSize: 1, maxQueueSize: 2 });
    enq('running');
    await flushPromises();
    enq('q1');
    enq('q2');
    const over = enq('over');
    await flushPromises();
    expect(calls).toHaveLength(1);
    expect(over.status).toBe('rejected');
    expect(over.error).toBeInstanceOf(AppError);
    expect(over.error?.code).toBe('QUEUE_FULL');
    expect(over.error?.message).toContain('resnet');
    expect(over.error?.message).toContain('max_queue_size 2');
    expect(over.error?.retryAfterSeconds).toBe(1);
    expect(rejects).toEqual(['QUEUE_FULL']);
  });

  it('counts queued requests, not items, against max_queue_size', async () => {
    const { enq } = setup({ maxBatchSize: 8, maxQueueSize: 2, concurrency: 1 });
    enq('running', { size: 8 });
    await flushPromises();
    enq('q1', { size: 8 });
    const q2 = enq('q2', { size: 8 });
    const over = enq('over', { size: 1 });
    await flushPromises();
    expect(q2.status).toBe('pending');
    expect(over.error?.code).toBe('QUEUE_FULL');
  });

  it('estimates Retry-After from recent batch duration x queued batches', async () => {
    const { calls, enq, clock } = setup({ maxBatchSize: 1, maxQueueSize: 3 });
    enq('a');
    await flushPromises();
    clock.advance(2000);
    calls[0]!.resolve();
    await flushPromises();
    enq('b'); // runs
    await flushPromises();
    enq('c');
    enq('d');
    enq('e');
    const over = enq('over');
    await flushPromises();
    // 3 queued batches x 2 s, one runner.
    expect(over.error?.retryAfterSeconds).toBe(6);
  });

  it('frees queue slots as batches are dispatched', async () => {
    const { calls, enq } = setup({ maxBatchSize: 1, maxQueueSize: 1 });
    enq('a');
    await flushPromises();
    const b = enq('b');
    await flushPromises();
    expect(b.status).toBe('pending');
    calls[0]!.resolve();
    await flushPromises();
    expect(calls.map((x) => x.payloads)).toEqual([['a'], ['b']]);
    const c = enq('c');
    await flushPromises();
    expect(c.status).toBe('pending');
  });

  it('does not refuse a burst with QUEUE_FULL when the pending decision would dispatch from the full queue', async () => {
    const { calls, enq, rejects } = setup({ maxBatchSize: 1, maxQueueSize: 1 });
    const a = enq('a');
    const b = enq('b');
    const over = enq('over');
    await flushPromises();
    // 'a' runs on the idle runner to make room for 'b'; 'over' finds 'b' queued and the runner busy.
    expect(calls.map((x) => x.payloads)).toEqual([['a']]);
    expect([a.status, b.status]).toEqual(['pending', 'pending']);
    expect(over.error?.code).toBe('QUEUE_FULL');
    expect(rejects).toEqual(['QUEUE_FULL']);
  });

  it('still refuses with QUEUE_FULL when the pending decision would only wait', async () => {
    const { calls, enq } = setup({ maxQueueSize: 2, maxQueueDelayMicros: 1000 });
    enq('a');
    enq('b');
    const over = enq('over');
    await flushPromises();
    expect(calls).toHaveLength(0);
    expect(over.error?.code).toBe('QUEUE_FULL');
  });

  it('rejects invalid size and priority with INVALID_INPUT as a rejected promise', async () => {
    const { enq, execute, batcher } = setup({ maxBatchSize: 4, priorityLevels: 2 });
    const tooBig = enq('x', { size: 5 });
    const zero = enq('x', { size: 0 });
    const badPriority = enq('x', { priority: 3 });
    expect(() => batcher.enqueue({ payload: 'x', batchKey: 'k', size: 9 }).catch(() => {})).not.toThrow();
    await flushPromises();
    expect(tooBig.error?.code).toBe('INVALID_INPUT');
    expect(tooBig.error?.message).toContain('max_batch_size 4');
    expect(zero.error?.code).toBe('INVALID_INPUT');
    expect(badPriority.error?.code).toBe('INVALID_INPUT');
    expect(badPriority.error?.message).toContain('priority 3 is out of range');
    expect(badPriority.error?.message).toContain('resnet');
    expect(execute).not.toHaveBeenCalled();
  });
});

describe('Batcher: timeouts', () => {
  /** One runner kept busy by 'busy' so later requests stay queued. */
  async function busy(over: Partial<BatchingConfig> = {}) {
    const s = setup({ maxBatchSize: 1, ...over });
    s.enq('busy');
    await flushPromises();
    expect(s.calls).toHaveLength(1);
    return s;
  }

  it('lets a request shorten the default timeout', async () => {
    const { enq, clock } = await busy({ defaultTimeoutMicros: 1000 });
    const short = enq('short', { timeoutMicros: 200 });
    await flushPromises();
    clock.advance(0.199);
    await flushPromises();
    expect(short.status).toBe('pending');
    clock.advance(0.001);
    await flushPromises();
    expect(short.error?.code).toBe('DEADLINE_EXCEEDED');
    expect(short.error?.message).toBe('request timed out after 200µs in the queue of model resnet');
  });

  it('does not let a request lengthen the default timeout', async () => {
    const { enq, clock } = await busy({ defaultTimeoutMicros: 1000 });
    const long = enq('long', { timeoutMicros: 5000 });
    await flushPromises();
    clock.advance(0.999);
    await flushPromises();
    expect(long.status).toBe('pending');
    clock.advance(0.001);
    await flushPromises();
    expect(long.error?.code).toBe('DEADLINE_EXCEEDED');
    expect(long.error?.message).toContain('1000µs');
  });

  it('uses the requested timeout when the model has no default, and none when neither has one', async () => {
    const { enq, clock } = await busy();
    const timed = enq('timed', { timeoutMicros: 300 });
    const untimed = enq('untimed');
    await flushPromises();
    clock.advance(0.3);
    await flushPromises();
    expect(timed.error?.code).toBe('DEADLINE_EXCEEDED');
    clock.advance(60_000);
    await flushPromises();
    expect(untimed.status).toBe('pending');
  });

  it('never passes an expired request to execute', async () => {
    const { calls, enq, clock, rejects } = await busy({ defaultTimeoutMicros: 1000 });
    const late = enq('late');
    await flushPromises();
    clock.advance(0.5);
    const fresh = enq('fresh');
    await flushPromises();
    clock.advance(0.5);
    calls[0]!.resolve();
    await flushPromises();
    expect(late.error?.code).toBe('DEADLINE_EXCEEDED');
    expect(calls.map((c) => c.payloads)).toEqual([['busy'], ['fresh']]);
    expect(fresh.status).toBe('pending');
    expect(rejects).toEqual(['DEADLINE_EXCEEDED']);
  });

  it('checks expiry at dispatch time too, even if the expiry timer has not fired', async () => {
    let now = 0;
    const lazyClock = { now: () => now, wallNow: () => now, setTimeout: () => () => {} };
    const calls: string[][] = [];
    let finish: (r: string[]) => void = () => {};
    const batcher = new Batcher<string, string>({
      name: 'resnet',
      config: { ...BASE, maxBatchSize: 1, defaultTimeoutMicros: 1000 },
      clock: lazyClock,
      execute: (batch) => {
        calls.push(batch.map((b) => b.payload));
        return new Promise((resolve) => {
          finish = resolve;
        });
      },
    });
    track(batcher.enqueue({ payload: 'busy', batchKey: 'k', size: 1 }));
    const stale = track(batcher.enqueue({ payload: 'stale', batchKey: 'k', size: 1 }));
    await flushPromises();
    expect(calls).toEqual([['busy']]);
    now = 2;
    finish(['r:busy']);
    await flushPromises();
    expect(stale.error?.code).toBe('DEADLINE_EXCEEDED');
    expect(calls).toEqual([['busy']]);
  });

  it('drops a request that expires inside the delay window and runs the rest without it', async () => {
    const { calls, enq, clock } = setup({ maxQueueDelayMicros: 2000, concurrency: 2 });
    enq('busy');
    await flushPromises();
    const a = enq('a', { timeoutMicros: 500 });
    enq('b');
    await flushPromises();
    clock.advance(0.5);
    await flushPromises();
    expect(a.error?.code).toBe('DEADLINE_EXCEEDED');
    expect(calls).toHaveLength(1);
    clock.advance(1.499);
    expect(calls).toHaveLength(1);
    clock.advance(0.001);
    expect(calls.map((c) => c.payloads)).toEqual([['busy'], ['b']]);
  });

  it('runs the survivor at once when the rest of its burst expires on an idle batcher', async () => {
    const { calls, enq, clock } = setup({ maxQueueDelayMicros: 2000 });
    const a = enq('a', { timeoutMicros: 500 });
    enq('b');
    await flushPromises();
    expect(calls).toHaveLength(0);
    clock.advance(0.5);
    await flushPromises();
    expect(a.error?.code).toBe('DEADLINE_EXCEEDED');
    expect(calls.map((c) => c.payloads)).toEqual([['b']]);
    expect(clock.now()).toBe(0.5);
  });

  it('rejects an expired request even while every runner stays busy', async () => {
    const { enq, clock, batcher } = await busy({ defaultTimeoutMicros: 10_000 });
    const r = enq('r');
    await flushPromises();
    clock.advance(10);
    await flushPromises();
    expect(r.error?.code).toBe('DEADLINE_EXCEEDED');
    expect(batcher.stats().queued).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('Batcher: execution results', () => {
  it('fails only the requests of a failing batch', async () => {
    const { calls, enq, rejects } = setup({ maxBatchSize: 2, concurrency: 2, maxQueueDelayMicros: 1000 });
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((p) => enq(p));
    await flushPromises();
    expect(calls.map((x) => x.payloads)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    calls[0]!.reject(new Error('CUDA out of memory'));
    calls[1]!.resolve();
    await flushPromises();
    expect(a!.error?.code).toBe('INFERENCE_FAILED');
    expect(a!.error?.message).toBe('inference failed for model resnet: CUDA out of memory');
    expect(b!.error?.code).toBe('INFERENCE_FAILED');
    expect([c!.value, d!.value]).toEqual(['r:c', 'r:d']);
    expect(rejects).toEqual(['INFERENCE_FAILED', 'INFERENCE_FAILED']);
  });

  it('fails only the request whose result is a RequestFailure and resolves the rest of its batch', async () => {
    const { calls, enq, rejects, batches } = setup({ maxBatchSize: 3, maxQueueDelayMicros: 1000 });
    const [a, b, c] = ['a', 'b', 'c'].map((p) => enq(p));
    await flushPromises();
    expect(calls.map((x) => x.payloads)).toEqual([['a', 'b', 'c']]);
    const refused = new AppError('INVALID_INPUT', 'index 7 is out of range');
    calls[0]!.resolve(['r:a', new RequestFailure(refused), 'r:c']);
    await flushPromises();
    expect([a!.value, c!.value]).toEqual(['r:a', 'r:c']);
    expect(b!.status).toBe('rejected');
    expect(b!.error).toBe(refused);
    expect(rejects).toEqual(['INVALID_INPUT']);
    expect(batches).toHaveLength(1);
  });

  it('passes an AppError from execute through unchanged', async () => {
    const { calls, enq } = setup();
    const a = enq('a');
    await flushPromises();
    const err = new AppError('INVALID_INPUT', 'tensor too large');
    calls[0]!.reject(err);
    await flushPromises();
    expect(a.error).toBe(err);
  });

  it('treats execute throwing synchronously as a failed batch and keeps serving', async () => {
    const clock = new FakeClock();
    let first = true;
    const batcher = new Batcher<string, string>({
      name: 'resnet',
      config: BASE,
      clock,
      execute: (batch) => {
        if (first) {
          first = false;
          throw new Error('sync boom');
        }
        return Promise.resolve(batch.map((b) => b.payload.toUpperCase()));
      },
    });
    const a = track(batcher.enqueue({ payload: 'a', batchKey: 'k', size: 1 }));
    await flushPromises();
    const b = track(batcher.enqueue({ payload: 'b', batchKey: 'k', size: 1 }));
    await flushPromises();
    expect(a.error?.message).toBe('inference failed for model resnet: sync boom');
    expect(b.value).toBe('B');
  });

  it('rejects a batch with INFERENCE_FAILED when execute returns the wrong number of results', async () => {
    const { calls, enq, batches } = setup({ maxBatchSize: 2, maxQueueDelayMicros: 1000 });
    const a = enq('a');
    const b = enq('b');
    await flushPromises();
    expect(calls.map((x) => x.payloads)).toEqual([['a', 'b']]);
    calls[0]!.resolve(['only one']);
    await flushPromises();
    expect(a.error?.code).toBe('INFERENCE_FAILED');
    expect(a.error?.message).toContain('execute returned 1 results for 2 requests');
    expect(b.error?.code).toBe('INFERENCE_FAILED');
    expect(batches).toHaveLength(0);
    const c = enq('c');
    const d = enq('d');
    await flushPromises();
    calls[1]!.resolve();
    await flushPromises();
    expect([c.value, d.value]).toEqual(['r:c', 'r:d']);
    expect(batches).toHaveLength(1);
  });

  it('reports batch size, queue times and compute time to the observer', async () => {
    // A second runner stays busy, so the lone 'a' waits for the delay and 'b' joins it.
    const { calls, enq, clock, batches } = setup({ maxQueueDelayMicros: 500, concurrency: 2 });
    enq('busy');
    await flushPromises();
    enq('a', { size: 2 });
    await flushPromises();
    clock.advance(0.2);
    enq('b', { size: 3 });
    await flushPromises();
    clock.advance(0.3);
    expect(calls.map((c) => c.payloads)).toEqual([['busy'], ['a', 'b']]);
    clock.advance(3);
    calls[1]!.resolve();
    await flushPromises();
    expect(batches).toHaveLength(1);
    const info = batches[0]!;
    expect(info.size).toBe(5);
    expect(info.requests).toBe(2);
    expect(info.queueMicros[0]).toBeCloseTo(500);
    expect(info.queueMicros[1]).toBeCloseTo(300);
    expect(info.computeMicros).toBeCloseTo(3000);
  });

  it('keeps serving when an observer throws', async () => {
    const clock = new FakeClock();
    const batcher = new Batcher<string, string>({
      name: 'resnet',
      config: { ...BASE, maxQueueSize: 1, maxBatchSize: 1 },
      clock,
      execute: (batch) => Promise.resolve(batch.map((b) => b.payload)),
      observer: {
        onBatch: () => {
          throw new Error('metrics bug');
        },
        onReject: () => {
          throw new Error('metrics bug');
        },
      },
    });
    const a = track(batcher.enqueue({ payload: 'a', batchKey: 'k', size: 1 }));
    const bad = track(batcher.enqueue({ payload: 'b', batchKey: 'k', size: 2 }));
    await flushPromises();
    expect(a.value).toBe('a');
    expect(bad.error?.code).toBe('INVALID_INPUT');
  });

  it('tracks queued and in-flight requests and items', async () => {
    const { calls, enq, batcher } = setup({ maxBatchSize: 4 });
    enq('a', { size: 3 });
    enq('b', { size: 2 });
    enq('c', { size: 1 });
    // Queued until the pump runs, after the current step.
    expect(batcher.stats()).toEqual({ queued: 3, queuedItems: 6, inFlightBatches: 0, inFlightItems: 0 });
    await flushPromises();
    expect(batcher.stats()).toEqual({ queued: 2, queuedItems: 3, inFlightBatches: 1, inFlightItems: 3 });
    calls[0]!.resolve();
    await flushPromises();
    expect(batcher.stats()).toEqual({ queued: 0, queuedItems: 0, inFlightBatches: 1, inFlightItems: 3 });
  });
});

describe('Batcher: abort signals', () => {
  it('removes a queued request when its signal aborts, and never executes it', async () => {
    const { calls, enq, batcher, rejects } = setup({ maxBatchSize: 1 });
    enq('busy');
    await flushPromises();
    const ac = new AbortController();
    const gone = enq('gone', { signal: ac.signal });
    enq('stays');
    await flushPromises();
    expect(batcher.stats().queued).toBe(2);
    ac.abort();
    await flushPromises();
    expect(gone.error?.code).toBe('UNAVAILABLE');
    expect(gone.error?.message).toContain('cancelled');
    expect(batcher.stats().queued).toBe(1);
    calls[0]!.resolve();
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['busy'], ['stays']]);
    expect(rejects).toEqual(['UNAVAILABLE']);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const { enq, execute } = setup();
    const ac = new AbortController();
    ac.abort();
    const r = enq('r', { signal: ac.signal });
    await flushPromises();
    expect(r.error?.code).toBe('UNAVAILABLE');
    expect(execute).not.toHaveBeenCalled();
  });

  it('ignores an abort once the request is running and detaches its listener', async () => {
    const { calls, enq } = setup();
    const ac = new AbortController();
    const remove = vi.spyOn(ac.signal, 'removeEventListener');
    const r = enq('r', { signal: ac.signal });
    expect(remove).not.toHaveBeenCalled();
    await flushPromises();
    expect(remove).toHaveBeenCalledTimes(1);
    ac.abort();
    calls[0]!.resolve();
    await flushPromises();
    expect(r.value).toBe('r:r');
  });

  it('no longer splits the requests around an aborted one', async () => {
    const { calls, enq, clock } = setup({ maxQueueDelayMicros: 1000 });
    const ac = new AbortController();
    enq('a1', { batchKey: 'a' });
    enq('b', { batchKey: 'b', signal: ac.signal });
    enq('a2', { batchKey: 'a' });
    await flushPromises();
    // a1 is cut by b and runs at once; b and a2 wait for the runner.
    expect(calls.map((c) => c.payloads)).toEqual([['a1']]);
    ac.abort();
    enq('a3', { batchKey: 'a' });
    calls[0]!.resolve();
    await flushPromises();
    // Two requests queued on an idle runner: they wait for the delay, together.
    expect(calls).toHaveLength(1);
    clock.advance(1);
    expect(calls.map((c) => c.payloads)).toEqual([['a1'], ['a2', 'a3']]);
  });

  it('rejects a request aborted before the pump runs and never executes it', async () => {
    const { calls, enq, rejects, batcher } = setup();
    const ac = new AbortController();
    const gone = enq('gone', { signal: ac.signal });
    ac.abort();
    await flushPromises();
    expect(gone.error?.code).toBe('UNAVAILABLE');
    expect(calls).toHaveLength(0);
    expect(batcher.stats().queued).toBe(0);
    expect(rejects).toEqual(['UNAVAILABLE']);
  });

  it('does not split a burst when one of its requests aborts in the same step', async () => {
    const { calls, enq, clock } = setup({ maxQueueDelayMicros: 1000 });
    const ac = new AbortController();
    enq('a');
    const gone = enq('gone', { signal: ac.signal });
    ac.abort();
    enq('c');
    await flushPromises();
    expect(gone.error?.code).toBe('UNAVAILABLE');
    // 'a' and 'c' arrived together: no lone 'a' runs on the idle rule ahead of 'c'.
    expect(calls).toHaveLength(0);
    clock.advance(1);
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'c']]);
  });
});

describe('Batcher: lifecycle', () => {
  it('close() stops accepting, runs the queue without waiting for the delay, and resolves when idle', async () => {
    const { calls, enq, batcher } = setup({ maxQueueDelayMicros: 1_000_000 });
    const a = enq('a');
    const b = enq('b');
    await flushPromises();
    expect(calls).toHaveLength(0);
    expect(batcher.state).toBe('open');
    let closed = false;
    const done = batcher.close().then(() => {
      closed = true;
    });
    expect(batcher.state).toBe('closing');
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
    const late = enq('late');
    await flushPromises();
    expect(late.error?.code).toBe('DRAINING');
    expect(closed).toBe(false);
    calls[0]!.resolve();
    await done;
    expect([a.value, b.value]).toEqual(['r:a', 'r:b']);
    expect(batcher.state).toBe('closed');
    const after = enq('after');
    await flushPromises();
    expect(after.error?.code).toBe('DRAINING');
    expect(after.error?.message).toContain('resnet');
  });

  it('close() drains a queue larger than one batch across several runs', async () => {
    const { calls, enq, batcher } = setup({ maxBatchSize: 2, maxQueueDelayMicros: 1_000_000 });
    const all = ['a', 'b', 'c', 'd', 'e'].map((p) => enq(p));
    const done = batcher.close();
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
    for (let i = 0; i < 3; i++) {
      calls[i]!.resolve();
      await flushPromises();
    }
    await done;
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(all.every((o) => o.status === 'fulfilled')).toBe(true);
  });

  it('close() before the scheduled pump runs the burst at once, and the pump does not run it again', async () => {
    const { calls, enq, batcher, clock } = setup({ maxBatchSize: 2, maxQueueDelayMicros: 1000 });
    const all = ['a', 'b', 'c'].map((p) => enq(p));
    const done = batcher.close();
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
    await flushPromises();
    expect(calls).toHaveLength(1);
    calls[0]!.resolve();
    await flushPromises();
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b'], ['c']]);
    calls[1]!.resolve();
    await done;
    expect(all.map((o) => o.value)).toEqual(['r:a', 'r:b', 'r:c']);
    expect(batcher.state).toBe('closed');
    expect(clock.pendingTimers).toBe(0);
  });

  it('destroy() before the scheduled pump rejects the burst; the pump then executes nothing', async () => {
    const { enq, batcher, clock, execute } = setup({ maxQueueDelayMicros: 1000 });
    const all = [enq('a'), enq('b', { timeoutMicros: 5000 })];
    batcher.destroy();
    await flushPromises();
    expect(all.map((o) => o.error?.code)).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
    expect(execute).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
    expect(batcher.state).toBe('closed');
    await batcher.close();
  });

  it('close() on an idle batcher resolves at once', async () => {
    const { batcher } = setup();
    await batcher.close();
    expect(batcher.state).toBe('closed');
  });

  it('destroy() rejects everything queued at once; running batches still settle', async () => {
    const { calls, enq, batcher, clock, execute } = setup({ maxBatchSize: 1, maxQueueDelayMicros: 1000 });
    const running = enq('running');
    await flushPromises();
    const queued = [enq('q1'), enq('q2', { timeoutMicros: 50_000 })];
    batcher.destroy();
    await flushPromises();
    expect(queued.map((o) => o.error?.code)).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
    expect(batcher.state).toBe('closed');
    expect(batcher.stats().queued).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    calls[0]!.resolve();
    await flushPromises();
    expect(running.value).toBe('r:running');
    expect(execute).toHaveBeenCalledTimes(1);
    const after = enq('after');
    await flushPromises();
    expect(after.error?.code).toBe('DRAINING');
  });

  it('destroy(err) rejects with the given AppError', async () => {
    const { enq, batcher } = setup({ maxQueueDelayMicros: 1000 });
    const q = enq('q');
    const err = new AppError('MODEL_NOT_READY', 'model resnet is reloading');
    batcher.destroy(err);
    await flushPromises();
    expect(q.error).toBe(err);
  });

  it('close() after destroy() resolves once the running batch settles', async () => {
    const { calls, enq, batcher } = setup();
    enq('running');
    await flushPromises();
    batcher.destroy(new Error('unload'));
    let closed = false;
    const done = batcher.close().then(() => {
      closed = true;
    });
    await flushPromises();
    expect(closed).toBe(false);
    calls[0]!.resolve();
    await done;
    expect(closed).toBe(true);
  });
});

describe('Batcher: throughput', () => {
  it('drains 20k queued requests in full batches without quadratic work', async () => {
    const clock = new FakeClock();
    const sizes: number[] = [];
    const batcher = new Batcher<number, number>({
      name: 'resnet',
      config: { ...BASE, maxBatchSize: 32, maxQueueDelayMicros: 1000, defaultTimeoutMicros: 1_000_000 },
      clock,
      execute: (batch) => {
        sizes.push(batch.length);
        return Promise.resolve(batch.map((b) => b.payload * 2));
      },
    });
    const started = performance.now();
    const results = Array.from({ length: 20_000 }, (_, i) =>
      batcher.enqueue({ payload: i, batchKey: 'k', size: 1 }),
    );
    await batcher.close();
    const values = await Promise.all(results);
    const elapsedMs = performance.now() - started;
    expect(values[19_999]).toBe(39_998);
    expect(sizes.length).toBeLessThanOrEqual(20_000 / 32 + 2);
    expect(elapsedMs).toBeLessThan(5000);
  });
});

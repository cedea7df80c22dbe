import { describe, expect, it } from 'vitest';
import type { UsageEvent } from '../../../../shared/usage/event.ts';
import {
  createBufferedUsageSink,
  createRedisUsageSink,
} from '../../../../workers/stores/usage/usage-sink.ts';
import { usageEvent } from '../../../support/usage-fixtures.ts';

/** Event n, with a request id `r<n>` the tests read back. */
function event(n: number): UsageEvent {
  return usageEvent({ id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, requestId: `r${n}` });
}

describe('buffered usage sink', () => {
  it('writes only full batches while an insert is slow, leaving the remainder for the next batch', async () => {
    const batches: number[] = [];
    let release: () => void = () => {};
    const sink = createBufferedUsageSink({
      insert: async (events) => {
        batches.push(events.length);
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      batchSize: 4,
      flushIntervalMs: 1_000_000,
      now: () => 0,
    });
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 4; i++) pending.push(sink.record(event(i)));
    // The first batch is in flight; six more arrive meanwhile.
    for (let i = 4; i < 10; i++) pending.push(sink.record(event(i)));
    release();
    await new Promise((r) => setTimeout(r, 0));
    release();
    await Promise.all(pending);
    expect(batches).toEqual([4, 4]);
    const flushing = sink.flush();
    release();
    await flushing;
    expect(batches).toEqual([4, 4, 2]);
  });

  it('writes a partial batch when an event arrives after the interval has passed', async () => {
    let now = 0;
    const batches: string[][] = [];
    const sink = createBufferedUsageSink({
      insert: async (events) => {
        batches.push(events.map((e) => e.requestId));
      },
      batchSize: 100,
      flushIntervalMs: 5_000,
      now: () => now,
    });
    await sink.record(event(1));
    await sink.record(event(2));
    expect(batches).toEqual([]);
    now = 5_000;
    await sink.record(event(3));
    expect(batches).toEqual([['r1', 'r2', 'r3']]);
  });
});

describe('buffered usage sink, isolated requests (Workers)', () => {
  it('with awaitOthers false, never waits on an insert another caller started; that caller writes the event', async () => {
    const batches: string[][] = [];
    let release: () => void = () => {};
    const sink = createBufferedUsageSink({
      insert: async (events) => {
        batches.push(events.map((e) => e.requestId));
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      batchSize: 2,
      flushIntervalMs: 1_000_000,
      now: () => 0,
      awaitOthers: false,
    });
    void sink.record(event(1));
    const starter = sink.record(event(2));
    // The first batch is in flight; a full second batch must not make its caller wait on the first caller's I/O.
    let settled = false;
    void sink.record(event(3));
    const other = sink.record(event(4)).then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(settled).toBe(true);
    await other;
    expect(batches).toEqual([['r1', 'r2']]);
    // The caller that started the insert writes the batch that filled meanwhile, in its own I/O.
    release();
    await new Promise((r) => setTimeout(r, 0));
    release();
    await starter;
    expect(batches).toEqual([
      ['r1', 'r2'],
      ['r3', 'r4'],
    ]);
  });
});

describe('Redis usage sink', () => {
  function fakeRedis(fail: (id: string) => boolean = () => false) {
    const calls: { id: string; tick: number }[] = [];
    let tick = 0;
    const advance = () => {
      tick += 1;
    };
    const redis = {
      xadd: (async (_key: string, _id: string, fields: Record<string, string>) => {
        calls.push({ id: fields.id!, tick });
        if (fail(fields.id!)) throw new Error(`refused ${fields.id}`);
        return '1-0';
      }) as never,
    };
    return { redis, calls, advance };
  }

  it('sends the events of one window together, in one tick, and settles each with its own outcome', async () => {
    const { redis, calls, advance } = fakeRedis((id) => id.endsWith('2'));
    const sink = createRedisUsageSink(redis, { maxBatch: 100, maxDelayMs: 20 });
    const a = sink.record(event(1));
    advance();
    const b = sink.record(event(2));
    advance();
    const c = sink.record(event(3));
    const outcomes = Promise.allSettled([a, b, c]);
    expect(calls).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 40));
    expect(calls.map((x) => x.id)).toEqual([event(1).id, event(2).id, event(3).id]);
    expect(new Set(calls.map((x) => x.tick)).size).toBe(1);
    const [ra, rb, rc] = await outcomes;
    expect(ra.status).toBe('fulfilled');
    expect(rb).toMatchObject({ status: 'rejected', reason: new Error(`refused ${event(2).id}`) });
    expect(rc.status).toBe('fulfilled');
  });

  it('sends a full batch at once without waiting for the window, and flush() sends the rest', async () => {
    const { redis, calls } = fakeRedis();
    const sink = createRedisUsageSink(redis, { maxBatch: 3, maxDelayMs: 60_000 });
    const sent = [1, 2, 3, 4].map((n) => sink.record(event(n)));
    expect(calls).toHaveLength(3);
    await Promise.all(sent.slice(0, 3));
    await sink.flush();
    expect(calls).toHaveLength(4);
    await sent[3];
  });

  it('with maxDelayMs 0 writes each event as it is recorded', async () => {
    const { redis, calls } = fakeRedis();
    const sink = createRedisUsageSink(redis, { maxBatch: 100, maxDelayMs: 0 });
    await sink.record(event(1));
    expect(calls).toHaveLength(1);
  });

  it('through the real @upstash/redis client, one window of events is one HTTP round trip', async () => {
    const { startBridgedRedis } = await import('../../bridged-redis.ts');
    const { Redis } = await import('@upstash/redis');
    const bridged = await startBridgedRedis({ namespace: 'usage' });
    const client = new Redis({
      url: bridged.bridge.url,
      token: bridged.bridge.token,
      enableAutoPipelining: true,
    });
    const stream = `${bridged.prefix}usage`;
    const sink = createRedisUsageSink(
      {
        xadd: ((_key: string, ...rest: unknown[]) =>
          (client.xadd as (...a: unknown[]) => Promise<string>)(stream, ...rest)) as never,
      },
      { maxBatch: 100, maxDelayMs: 20 },
    );
    try {
      const before = bridged.bridge.requests();
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 25; i++) {
        writes.push(sink.record(event(i)));
        await Promise.resolve();
      }
      await Promise.all(writes);
      expect(bridged.bridge.requests() - before).toBe(1);
      expect(await client.xlen(stream)).toBe(25);
    } finally {
      await bridged.close();
    }
  });
});

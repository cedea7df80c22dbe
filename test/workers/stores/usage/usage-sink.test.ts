import { describe, expect, it } from 'vitest';
import type { UsageEvent } from '../../../../shared/usage/event.ts';
import { createLogger } from '../../../../workers/observability/logger.ts';
import { createMetrics } from '../../../../workers/observability/metrics.ts';
import {
  createBufferedUsageSink,
  createDurableUsageSink,
  type DurableUsageSinkOptions,
} from '../../../../workers/stores/usage/usage-sink.ts';
import { createRedisUsageStream, isStreamFull } from '../../../../workers/stores/usage/usage-stream.ts';
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

type StreamMode = 'ok' | 'down' | 'full' | 'hang';

/** A usage stream that records each append and the tick it was issued in, and fails as told. */
function fakeStream(initial: StreamMode = 'ok') {
  const appended: string[] = [];
  const calls: { id: string; tick: number }[] = [];
  const hanging: (() => void)[] = [];
  const state = { mode: initial, tick: 0, fail: (_id: string) => false };
  const stream = {
    append: async (e: UsageEvent) => {
      calls.push({ id: e.id, tick: state.tick });
      if (state.fail(e.id)) throw new Error(`refused ${e.id}`);
      if (state.mode === 'down') throw new Error('Redis unavailable');
      if (state.mode === 'full') throw new Error('USAGE_STREAM_FULL the usage stream holds 10 entries');
      if (state.mode === 'hang') await new Promise<void>((r) => hanging.push(r));
      appended.push(e.id);
    },
  };
  return { stream, appended, calls, hanging, state };
}

function fakeDatabase() {
  const inserted: string[] = [];
  const state = { mode: 'ok' as 'ok' | 'down' | 'hang', inserts: 0 };
  return {
    inserted,
    state,
    database: {
      insert: async (events: UsageEvent[]) => {
        state.inserts += 1;
        if (state.mode === 'down') throw new Error('connection refused');
        if (state.mode === 'hang') await new Promise(() => {});
        inserted.push(...events.map((e) => e.id));
      },
    },
  };
}

function durableSink(overrides: Partial<DurableUsageSinkOptions> & Pick<DurableUsageSinkOptions, 'stream'>) {
  const logs: string[] = [];
  const metrics = createMetrics();
  const clock = { now: 1_000_000 };
  const sink = createDurableUsageSink({
    database: null,
    metrics,
    logger: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
    now: () => clock.now,
    maxBatch: 100,
    maxDelayMs: 0,
    databaseTimeoutMs: 1_000,
    maxHeld: 1_000,
    maxHeldAgeMs: 3_600_000,
    retryIntervalMs: 0,
    ...overrides,
  });
  return { sink, metrics, logs, clock };
}

/** Event n at the clock's time. */
function timedEvent(n: number, ts: number): UsageEvent {
  return { ...event(n), ts };
}

describe('durable usage sink: batching into the stream', () => {
  it('sends the events of one window together, in one tick, and settles each once stored', async () => {
    const f = fakeStream();
    const { sink, metrics } = durableSink({ stream: f.stream, maxDelayMs: 20 });
    const a = sink.record(event(1));
    f.state.tick += 1;
    const b = sink.record(event(2));
    f.state.tick += 1;
    const c = sink.record(event(3));
    expect(f.calls).toHaveLength(0);
    expect(sink.pending()).toBe(3);
    await Promise.all([a, b, c]);
    expect(f.calls.map((x) => x.id)).toEqual([event(1).id, event(2).id, event(3).id]);
    expect(new Set(f.calls.map((x) => x.tick)).size).toBe(1);
    expect(metrics.snapshot().edge_usage_events_total).toBe(3);
    expect(sink.pending()).toBe(0);
  });

  it('sends a full batch at once without waiting for the window, and flush() sends the rest', async () => {
    const f = fakeStream();
    const { sink } = durableSink({ stream: f.stream, maxBatch: 3, maxDelayMs: 60_000 });
    const sent = [1, 2, 3, 4].map((n) => sink.record(event(n)));
    expect(f.calls).toHaveLength(3);
    await Promise.all(sent.slice(0, 3));
    await sink.flush();
    expect(f.calls).toHaveLength(4);
    await sent[3];
  });

  it('with maxDelayMs 0 appends each event as it is recorded, in the same tick', async () => {
    const f = fakeStream();
    const { sink } = durableSink({ stream: f.stream });
    const recorded = sink.record(event(1));
    expect(f.calls).toHaveLength(1);
    await recorded;
  });
});

describe('durable usage sink: when the stream does not take an event', () => {
  it('inserts what Redis refused straight into Postgres, in one insert, and counts it', async () => {
    const f = fakeStream();
    f.state.fail = (id) => id !== event(1).id;
    const db = fakeDatabase();
    const { sink, metrics, logs } = durableSink({ stream: f.stream, database: db.database, maxDelayMs: 5 });
    await Promise.all([1, 2, 3].map((n) => sink.record(event(n))));
    expect(f.appended).toEqual([event(1).id]);
    expect(db.inserted).toEqual([event(2).id, event(3).id]);
    expect(db.state.inserts).toBe(1);
    expect(metrics.snapshot()).toMatchObject({
      edge_usage_events_total: 3,
      edge_usage_direct_writes_total: 2,
    });
    expect(logs.join('\n')).toContain('written to Postgres directly');
  });

  it('writes to Postgres instead when the stream is at its bound, counting each refusal', async () => {
    const f = fakeStream('full');
    const db = fakeDatabase();
    const { sink, metrics } = durableSink({ stream: f.stream, database: db.database });
    await sink.record(event(1));
    await sink.record(event(2));
    expect(db.inserted).toEqual([event(1).id, event(2).id]);
    expect(metrics.snapshot()).toMatchObject({
      edge_usage_stream_full_total: 2,
      edge_usage_direct_writes_total: 2,
      edge_usage_events_total: 2,
    });
  });

  it('holds what neither took and writes it with the next event once one of them is back, oldest first', async () => {
    const f = fakeStream('down');
    const db = fakeDatabase();
    db.state.mode = 'down';
    const { sink, metrics, logs } = durableSink({ stream: f.stream, database: db.database });
    for (const n of [1, 2, 3]) await sink.record(event(n));
    expect(sink.pending()).toBe(3);
    expect(metrics.snapshot().edge_usage_failures_total).toBe(3);
    expect(logs.join('\n')).toContain('usage events held in the isolate');
    f.state.mode = 'ok';
    await sink.record(event(4));
    expect(f.appended).toEqual([1, 2, 3, 4].map((n) => event(n).id));
    expect(sink.pending()).toBe(0);
    expect(metrics.snapshot().edge_usage_events_total).toBe(4);
    expect(metrics.snapshot().edge_usage_events_dropped_total).toBeUndefined();
  });

  it('beyond maxHeld drops the oldest held events, counts and logs them', async () => {
    const f = fakeStream('down');
    const { sink, metrics, logs } = durableSink({ stream: f.stream, maxHeld: 5 });
    for (let n = 1; n <= 8; n++) await sink.record(event(n));
    expect(sink.pending()).toBe(5);
    expect(metrics.snapshot().edge_usage_events_dropped_total).toBe(3);
    const dropped = logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'usage events dropped');
    expect(dropped.flatMap((l) => l.eventIds)).toEqual([1, 2, 3].map((n) => event(n).id));
    f.state.mode = 'ok';
    await sink.flush();
    expect(f.appended).toEqual([4, 5, 6, 7, 8].map((n) => event(n).id));
  });

  it('drops held events older than maxHeldAgeMs, counted, and keeps the younger ones', async () => {
    const f = fakeStream('down');
    const { sink, metrics, clock } = durableSink({ stream: f.stream, maxHeldAgeMs: 60_000 });
    await sink.record(timedEvent(1, clock.now));
    clock.now += 30_000;
    await sink.record(timedEvent(2, clock.now));
    clock.now += 40_000;
    f.state.mode = 'ok';
    await sink.flush();
    expect(f.appended).toEqual([event(2).id]);
    expect(metrics.snapshot().edge_usage_events_dropped_total).toBe(1);
  });

  it('bounds a hung Postgres by databaseTimeoutMs: the event is held and the record settles', async () => {
    const f = fakeStream('down');
    const db = fakeDatabase();
    db.state.mode = 'hang';
    const { sink } = durableSink({ stream: f.stream, database: db.database, databaseTimeoutMs: 30 });
    const started = Date.now();
    await sink.record(event(1));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(sink.pending()).toBe(1);
  });

  it('with a retry interval (Node), retries held events on its own once the stream is back', async () => {
    const f = fakeStream('down');
    const { sink } = durableSink({ stream: f.stream, retryIntervalMs: 10 });
    await sink.record(event(1));
    await sink.record(event(2));
    f.state.mode = 'ok';
    for (let i = 0; i < 100 && sink.pending() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(f.appended).toEqual([event(1).id, event(2).id]);
  });

  it('on Workers never waits on another request’s write: a later record settles while an earlier one hangs', async () => {
    const f = fakeStream('hang');
    const { sink } = durableSink({ stream: f.stream });
    void sink.record(event(1));
    f.state.mode = 'ok';
    let settled = false;
    const second = sink.record(event(2)).then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(settled).toBe(true);
    await second;
    // The hung append is its own request's: the second write did not take event 1 along.
    expect(f.calls.map((c) => c.id)).toEqual([event(1).id, event(2).id]);
    expect(sink.pending()).toBe(1);
    for (const release of f.hanging) release();
  });
});

describe('usage stream: telling a full stream from an unreachable Redis', () => {
  it('matches the refusal, not the script text @upstash/redis appends to every error', async () => {
    const failing = (reply: (script: string) => string) =>
      createRedisUsageStream(
        {
          eval: (async (script: string) => {
            throw new Error(`${reply(script)}, command was: ${JSON.stringify([['eval', script]])}`);
          }) as never,
        },
        { maxLength: 3 },
      );
    const outcome = (stream: ReturnType<typeof failing>) =>
      stream.append(event(1)).then(
        () => null,
        (err: unknown) => err,
      );
    expect(isStreamFull(await outcome(failing(() => 'ERR Redis unavailable: connect ECONNREFUSED')))).toBe(
      false,
    );
    expect(
      isStreamFull(await outcome(failing(() => 'USAGE_STREAM_FULL the usage stream holds 3 entries'))),
    ).toBe(true);
  });
});

describe('usage stream in Redis (through @upstash/redis and the REST bridge)', () => {
  it('one window of events is one HTTP round trip', async () => {
    const { startBridgedRedis } = await import('../../bridged-redis.ts');
    const { Redis } = await import('@upstash/redis');
    const bridged = await startBridgedRedis({ namespace: 'usage' });
    const client = new Redis({
      url: bridged.bridge.url,
      token: bridged.bridge.token,
      enableAutoPipelining: true,
    });
    const key = `${bridged.prefix}usage`;
    const { sink } = durableSink({
      stream: createRedisUsageStream(client, { maxLength: 1_000, key }),
      maxDelayMs: 20,
    });
    try {
      const before = bridged.bridge.requests();
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 25; i++) {
        writes.push(sink.record(event(i)));
        await Promise.resolve();
      }
      await Promise.all(writes);
      expect(bridged.bridge.requests() - before).toBe(1);
      expect(await client.xlen(key)).toBe(25);
    } finally {
      await bridged.close();
    }
  });

  it('refuses appends once the stream holds maxLength entries, and never trims one', async () => {
    const { startBridgedRedis } = await import('../../bridged-redis.ts');
    const bridged = await startBridgedRedis({ namespace: 'usage' });
    const key = `${bridged.prefix}usage`;
    const stream = createRedisUsageStream(bridged.redis, { maxLength: 3, key });
    try {
      for (const n of [1, 2, 3]) await stream.append(event(n));
      const refused = await stream.append(event(4)).then(
        () => null,
        (err: unknown) => err,
      );
      expect(isStreamFull(refused)).toBe(true);
      const entries = (await bridged.redis.xrange(key, '-', '+')) as Record<string, Record<string, string>>;
      expect(Object.values(entries).map((fields) => fields.id)).toEqual([1, 2, 3].map((n) => event(n).id));
    } finally {
      await bridged.close();
    }
  });
});

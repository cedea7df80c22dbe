import { describe, expect, it } from 'vitest';
import type { UsageEvent } from '../../../shared/usage/event.ts';
import { createBufferedUsageSink } from '../../../workers/store/usage-sink.ts';

function event(n: number): UsageEvent {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    ts: 1,
    tenantId: '00000000-0000-4000-8000-000000000001',
    keyId: null,
    model: 'm',
    version: null,
    route: 'POST /v2/models/:name/infer',
    status: 200,
    latencyMs: 1,
    cache: 'HIT-EDGE',
    items: 1,
    requestId: `r${n}`,
    originId: null,
  };
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

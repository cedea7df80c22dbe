import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageDrain, type UsageDrainOptions } from '../../drizzle/pipeline/usage-drain.ts';
import type { UsageStreamClient } from '../../drizzle/pipeline/usage-stream.ts';
import { createTestDatabase, REDIS_TEST_URL, type TestDatabase } from './test-database.ts';
import { pendingCount, produce, usageEvent } from './usage-fixtures.ts';

export interface UsageStreamFixture {
  /** The implementation under test, on the Redis at REDIS_TEST_URL (directly or through the Upstash bridge). */
  client: UsageStreamClient;
  close(): Promise<void>;
}

/**
 * What every UsageStreamClient must do for the drain (stream-ioredis.ts under Node, stream-upstash.ts in the
 * Worker): the whole drain runs on it against real Redis 7 and PostgreSQL 15, and the stream is inspected with
 * a plain ioredis connection. Each test has its own stream.
 */
export function usageStreamContract(name: string, start: () => Promise<UsageStreamFixture>): void {
  describe(`${name} (UsageStreamClient contract)`, () => {
    let fixture: UsageStreamFixture;
    let tdb: TestDatabase;
    let redis: Redis;
    const streams: string[] = [];

    beforeAll(async () => {
      tdb = await createTestDatabase();
      redis = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: 2 });
      fixture = await start();
    });

    afterAll(async () => {
      await fixture?.close();
      if (streams.length > 0) await redis.del(...streams);
      redis?.disconnect();
      await tdb?.close();
    });

    function newStream(): string {
      const s = `aiserve_t:usage:${randomUUID()}`;
      streams.push(s, `${s}:dead`);
      return s;
    }

    function drainFor(stream: string, overrides: Partial<UsageDrainOptions> = {}): UsageDrain {
      return new UsageDrain({
        redis: fixture.client,
        db: tdb.db,
        stream,
        deadLetterStream: `${stream}:dead`,
        group: 'usage-drain',
        consumer: 'contract',
        batchSize: 10,
        blockMs: 0,
        claimIdleMs: 60_000,
        claimIntervalMs: 60_000,
        backoffMinMs: 10,
        backoffMaxMs: 50,
        deadLetterMaxLen: 1000,
        logger: pino({ level: 'silent' }),
        ...overrides,
      });
    }

    const rowsFor = async (tenantId: string): Promise<number> =>
      (await tdb.pool.query('SELECT count(*)::int AS n FROM usage_events WHERE tenant_id = $1', [tenantId]))
        .rows[0].n;

    it('creates the group (and the stream) once; a second create reports that it exists', async () => {
      const stream = newStream();
      expect(await fixture.client.createGroup(stream, 'usage-drain')).toBe(true);
      expect(await fixture.client.createGroup(stream, 'usage-drain')).toBe(false);
      const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
      expect(groups).toHaveLength(1);
    });

    it('drains 23 events in batches of 10: 23 rows with the fields as sent, nothing pending', async () => {
      const stream = newStream();
      const tenantId = randomUUID();
      const events = Array.from({ length: 23 }, (_, i) =>
        usageEvent({ tenantId, latencyMs: i + 0.4, cache: i % 2 ? 'HIT-EDGE' : 'MISS', items: i + 1 }),
      );
      await produce(redis, stream, events);
      const drain = drainFor(stream);
      const pass = await drain.runPass({ maxRounds: 10, maxMs: 30_000 });
      expect(pass).toMatchObject({ rounds: 4, drained: true, entries: 23, written: 23, duplicates: 0 });
      expect(await rowsFor(tenantId)).toBe(23);
      expect(await pendingCount(redis, stream)).toBe(0);
      const { rows } = await tdb.pool.query(
        'SELECT event_id::text AS id, latency_ms, cache, items FROM usage_events WHERE tenant_id = $1',
        [tenantId],
      );
      const byId = new Map(events.map((e) => [e.id, e]));
      for (const r of rows) {
        const e = byId.get(r.id)!;
        expect(r).toEqual({ id: e.id, latency_ms: Math.round(e.latencyMs), cache: e.cache, items: e.items });
      }
    });

    it('parks malformed entries in the dead-letter stream with the reason and writes the good ones', async () => {
      const stream = newStream();
      const tenantId = randomUUID();
      await produce(redis, stream, [usageEvent({ tenantId })]);
      await redis.xadd(stream, '*', 'id', 'x', 'e', '{not json');
      await redis.xadd(stream, '*', 'only', 'junk');
      const result = await drainFor(stream).runOnce();
      expect(result).toMatchObject({ entries: 3, written: 1, deadLettered: 2 });
      expect(await pendingCount(redis, stream)).toBe(0);
      const dead = (await redis.xrange(`${stream}:dead`, '-', '+')).map(([, f]) => {
        const m: Record<string, string> = {};
        for (let i = 0; i < f.length; i += 2) m[f[i]!] = f[i + 1]!;
        return m;
      });
      expect(dead.map((d) => d['reason'])).toEqual(['field "e" is not valid JSON', 'missing field "e"']);
      expect(JSON.parse(dead[1]!['fields']!)).toEqual({ only: 'junk' });
      expect(dead.every((d) => d['stream'] === stream)).toBe(true);
    });

    it('re-reads its own pending entries first (read, never acked) and writes them once', async () => {
      const stream = newStream();
      const tenantId = randomUUID();
      await produce(
        redis,
        stream,
        Array.from({ length: 12 }, () => usageEvent({ tenantId })),
      );
      await fixture.client.createGroup(stream, 'usage-drain');
      const read = await fixture.client.readGroup({
        stream,
        group: 'usage-drain',
        consumer: 'contract',
        count: 5,
        from: '>',
        blockMs: 0,
      });
      expect(read).toHaveLength(5);
      expect(await pendingCount(redis, stream)).toBe(5);
      const drain = drainFor(stream);
      expect(await drain.runOnce()).toMatchObject({ entries: 5, written: 5 });
      await drain.runPass({ maxRounds: 10, maxMs: 30_000 });
      expect(await rowsFor(tenantId)).toBe(12);
      expect(await pendingCount(redis, stream)).toBe(0);
    });

    it("claims another (crashed) consumer's idle entries", async () => {
      const stream = newStream();
      const tenantId = randomUUID();
      await produce(
        redis,
        stream,
        Array.from({ length: 7 }, () => usageEvent({ tenantId })),
      );
      await fixture.client.createGroup(stream, 'usage-drain');
      await fixture.client.readGroup({
        stream,
        group: 'usage-drain',
        consumer: 'gone-for-good',
        count: 100,
        from: '>',
        blockMs: 0,
      });
      const result = await drainFor(stream, { consumer: 'survivor', claimIdleMs: 0 }).runOnce();
      expect(result).toMatchObject({ claimed: 7, entries: 7, written: 7 });
      expect(await pendingCount(redis, stream)).toBe(0);
    });

    it('Redis lost the stream and its group (NOGROUP): the drain re-creates the group from id 0 and loses nothing', async () => {
      const stream = newStream();
      const tenantId = randomUUID();
      await produce(
        redis,
        stream,
        Array.from({ length: 6 }, () => usageEvent({ tenantId })),
      );
      const drain = drainFor(stream);
      await drain.runPass({ maxRounds: 10, maxMs: 30_000 });
      expect(await rowsFor(tenantId)).toBe(6);

      // What a Redis restarted empty looks like: no stream, no group; then the edge appends again, which
      // re-creates the stream without a group.
      await redis.del(stream);
      await produce(
        redis,
        stream,
        Array.from({ length: 9 }, () => usageEvent({ tenantId })),
      );
      const pass = await drain.runPass({ maxRounds: 10, maxMs: 30_000 });
      expect(pass).toMatchObject({ drained: true, entries: 9, written: 9 });
      expect(await rowsFor(tenantId)).toBe(15);
      expect(await pendingCount(redis, stream)).toBe(0);
    });

    it('a running drain loop goes on by itself after the group is lost', async () => {
      const stream = newStream();
      const tenantId = randomUUID();
      const drain = drainFor(stream, { blockMs: 100 });
      await drain.start();
      try {
        await produce(
          redis,
          stream,
          Array.from({ length: 4 }, () => usageEvent({ tenantId })),
        );
        await until(async () => (await rowsFor(tenantId)) === 4, 10_000);
        await redis.del(stream);
        await produce(
          redis,
          stream,
          Array.from({ length: 5 }, () => usageEvent({ tenantId })),
        );
        await until(async () => (await rowsFor(tenantId)) === 9, 10_000);
      } finally {
        await drain.stop();
      }
      expect(drain.state).toBe('stopped');
      expect(await rowsFor(tenantId)).toBe(9);
      expect(await pendingCount(redis, stream)).toBe(0);
    });
  });
}

async function until(ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

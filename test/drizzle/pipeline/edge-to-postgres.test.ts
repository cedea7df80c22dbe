import { randomBytes, randomUUID } from 'node:crypto';
import { Redis as Upstash } from '@upstash/redis';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ioredisUsageStream } from '../../../drizzle/pipeline/stream-ioredis.ts';
import { UsageDrain } from '../../../drizzle/pipeline/usage-drain.ts';
import { startUpstashBridge, type UpstashBridge } from '../../../scripts/dev/upstash-bridge.ts';
import { createLogger } from '../../../workers/observability/logger.ts';
import { createMetrics } from '../../../workers/observability/metrics.ts';
import { createDurableUsageSink } from '../../../workers/stores/usage/usage-sink.ts';
import { createRedisUsageStream } from '../../../workers/stores/usage/usage-stream.ts';
import { createTestDatabase, REDIS_TEST_URL, type TestDatabase } from '../../support/test-database.ts';
import { pendingCount, usageEvent } from '../../support/usage-fixtures.ts';

// The producer half is the edge's own sink, over @upstash/redis and the REST bridge, exactly as deployed; only
// the stream key is swapped for one of this test's, so parallel suites never share a stream.
let tdb: TestDatabase;
let bridge: UpstashBridge;
let redis: Redis;
const stream = `aiserve_t:usage:${randomUUID()}`;

beforeAll(async () => {
  tdb = await createTestDatabase();
  const token = randomBytes(16).toString('hex');
  bridge = await startUpstashBridge({ redisUrl: REDIS_TEST_URL, token });
  redis = new Redis(REDIS_TEST_URL);
});

afterAll(async () => {
  await redis.del(stream, `${stream}:dead`);
  redis.disconnect();
  await bridge.close();
  await tdb.close();
});

describe('edge usage sink → Upstash bridge → Redis stream → drain → Postgres', () => {
  it('stores every event the edge records exactly once, a repeated record included', async () => {
    const upstash = new Upstash({ url: bridge.url, token: bridge.token, retry: { retries: 0 } });
    const sink = createDurableUsageSink({
      stream: createRedisUsageStream(upstash, { maxLength: 1_000_000, key: stream }),
      database: null,
      metrics: createMetrics(),
      logger: createLogger({ level: 'silent' }),
      now: Date.now,
      maxBatch: 100,
      maxDelayMs: 0,
      databaseTimeoutMs: 1_000,
      maxHeld: 100,
      maxHeldAgeMs: 60_000,
      retryIntervalMs: 0,
    });
    const tenantId = randomUUID();
    const events = Array.from({ length: 30 }, (_, i) =>
      usageEvent({ tenantId, keyId: randomUUID(), latencyMs: i + 0.4, cache: i % 2 ? 'HIT-EDGE' : 'MISS' }),
    );
    for (const e of events) await sink.record(e);
    await sink.record(events[0]!);

    const drain = new UsageDrain({
      redis: ioredisUsageStream(redis),
      db: tdb.db,
      stream,
      deadLetterStream: `${stream}:dead`,
      group: 'usage-drain',
      consumer: 'e2e',
      batchSize: 100,
      blockMs: 0,
      claimIdleMs: 60_000,
      claimIntervalMs: 60_000,
      backoffMinMs: 10,
      backoffMaxMs: 100,
      deadLetterMaxLen: 100,
      logger: pino({ level: 'silent' }),
    });
    const result = await drain.runOnce();
    expect(result).toMatchObject({ entries: 31, written: 30, duplicates: 1, deadLettered: 0 });
    expect(await pendingCount(redis, stream)).toBe(0);
    const { rows } = await tdb.pool.query(
      `SELECT event_id::text AS id, key_id::text AS key, cache FROM usage_events WHERE tenant_id = $1 ORDER BY ts, event_id`,
      [tenantId],
    );
    expect(rows).toHaveLength(30);
    const byId = new Map(events.map((e) => [e.id, e]));
    for (const r of rows)
      expect(r).toEqual({ id: r.id, key: byId.get(r.id)?.keyId, cache: byId.get(r.id)?.cache });
  });
});

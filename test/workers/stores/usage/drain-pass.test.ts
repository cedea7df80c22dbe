import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashBridge, type UpstashBridge } from '../../../../scripts/dev/upstash-bridge.ts';
import { loadDataConfig } from '../../../../shared/config/data.ts';
import {
  USAGE_CONSUMER_GROUP,
  USAGE_DEAD_LETTER_STREAM,
  USAGE_STREAM,
} from '../../../../shared/redis-keys.ts';
import type { EdgeLogger } from '../../../../workers/observability/logger.ts';
import {
  createDatabaseSource,
  type DatabaseSource,
} from '../../../../workers/stores/database/database-source.ts';
import { runScheduledUsageDrain } from '../../../../workers/stores/usage/drain-pass.ts';
import { hasRedisServer, type PrivateRedis, startPrivateRedis } from '../../../support/private-redis.ts';
import { createTestDatabase, type TestDatabase } from '../../../support/test-database.ts';
import { pendingCount, produce, usageEvent } from '../../../support/usage-fixtures.ts';

// The Worker's Cron Trigger drain pass, under Node: the real @upstash/redis client through the Upstash bridge to
// a Redis of this file's own (the pass uses the production stream name), Postgres through the edge's own
// per-use database source. The same module runs in workerd in test/e2e/edge-workerd-usage-drain.test.ts.
let redisServer: PrivateRedis;
let redis: Redis;
let bridge: UpstashBridge;
let tdb: TestDatabase;
let database: DatabaseSource;
const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];

const logger: EdgeLogger = {
  debug: () => {},
  info: (fields, msg) => void lines.push({ level: 'info', fields, msg }),
  warn: (fields, msg) => void lines.push({ level: 'warn', fields, msg }),
  error: (fields, msg) => void lines.push({ level: 'error', fields, msg }),
  child: () => logger,
};

beforeAll(async () => {
  redisServer = await startPrivateRedis();
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
  bridge = await startUpstashBridge({ redisUrl: redisServer.url, token: randomBytes(16).toString('hex') });
  tdb = await createTestDatabase();
  database = createDatabaseSource(loadDataConfig({ DATABASE_URL: tdb.url, DATABASE_DRIVER: 'pg' }), {
    perUse: true,
  });
});

afterAll(async () => {
  await bridge?.close();
  redis?.disconnect();
  await redisServer?.close();
  await tdb?.close();
});

const upstash = () => ({ UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token });

const rowsFor = async (tenantId: string): Promise<number> =>
  (await tdb.pool.query('SELECT count(*)::int AS n FROM usage_events WHERE tenant_id = $1', [tenantId]))
    .rows[0].n;

describe.skipIf(!hasRedisServer)('usage drain pass of the Cron Trigger', () => {
  it('is skipped, naming what is missing, without a database or Redis, or when USAGE_DRAIN_CRON is false', async () => {
    expect(await runScheduledUsageDrain({ env: {}, config: {}, database: null, logger })).toEqual({
      ran: false,
      reason: 'the usage drain needs DATABASE_URL and UPSTASH_REDIS_REST_URL',
    });
    expect(await runScheduledUsageDrain({ env: {}, config: {}, database, logger })).toEqual({
      ran: false,
      reason: 'the usage drain needs UPSTASH_REDIS_REST_URL',
    });
    expect(
      await runScheduledUsageDrain({
        env: { USAGE_DRAIN_CRON: 'false' },
        config: upstash(),
        database,
        logger,
      }),
    ).toEqual({ ran: false, reason: 'USAGE_DRAIN_CRON is false' });
  });

  it('writes 35 events in batches of 10 exactly once and acks them all, in one pass', async () => {
    const tenantId = randomUUID();
    await produce(
      redis,
      USAGE_STREAM,
      Array.from({ length: 35 }, () => usageEvent({ tenantId })),
    );
    const outcome = await runScheduledUsageDrain({
      env: { USAGE_DRAIN_BATCH: '10' },
      config: upstash(),
      database,
      logger,
    });
    expect(outcome).toMatchObject({
      ran: true,
      pass: { drained: true, rounds: 5, entries: 35, written: 35 },
    });
    expect(await rowsFor(tenantId)).toBe(35);
    expect(await pendingCount(redis, USAGE_STREAM, USAGE_CONSUMER_GROUP)).toBe(0);
    expect(await redis.exists(USAGE_DEAD_LETTER_STREAM)).toBe(0);
    expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 'scheduled: usage drain pass done' });
  });

  it('stops at USAGE_DRAIN_PASS_ROUNDS with a warning; the next pass takes the rest', async () => {
    const tenantId = randomUUID();
    await produce(
      redis,
      USAGE_STREAM,
      Array.from({ length: 25 }, () => usageEvent({ tenantId })),
    );
    const env = { USAGE_DRAIN_BATCH: '10', USAGE_DRAIN_PASS_ROUNDS: '2' };
    const first = await runScheduledUsageDrain({ env, config: upstash(), database, logger });
    expect(first).toMatchObject({ ran: true, pass: { drained: false, rounds: 2, entries: 20 } });
    expect(lines.at(-1)).toMatchObject({ level: 'warn' });
    expect(await rowsFor(tenantId)).toBe(20);
    const second = await runScheduledUsageDrain({ env, config: upstash(), database, logger });
    expect(second).toMatchObject({ ran: true, pass: { drained: true, entries: 5 } });
    expect(await rowsFor(tenantId)).toBe(25);
  });

  it('after Redis restarted empty, the next pass re-creates the group and writes what the edge appended since', async () => {
    const tenantId = randomUUID();
    await produce(
      redis,
      USAGE_STREAM,
      Array.from({ length: 4 }, () => usageEvent({ tenantId })),
    );
    await runScheduledUsageDrain({ env: {}, config: upstash(), database, logger });
    expect(await rowsFor(tenantId)).toBe(4);

    await redisServer.restartEmpty();
    // ioredis reconnects by itself; the edge's next XADD re-creates the stream, without any group.
    await produce(
      redis,
      USAGE_STREAM,
      Array.from({ length: 6 }, () => usageEvent({ tenantId })),
    );
    expect(((await redis.xinfo('GROUPS', USAGE_STREAM)) as unknown[]).length).toBe(0);
    const outcome = await runScheduledUsageDrain({ env: {}, config: upstash(), database, logger });
    expect(outcome).toMatchObject({ ran: true, pass: { drained: true, entries: 6, written: 6 } });
    expect(await rowsFor(tenantId)).toBe(10);
    expect(await pendingCount(redis, USAGE_STREAM, USAGE_CONSUMER_GROUP)).toBe(0);
  });
});

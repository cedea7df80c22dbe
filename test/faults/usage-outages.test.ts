import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StubOrigin, startStubOrigin } from '../../fixtures/stub-origin.ts';
import { startUpstashBridge, type UpstashBridge } from '../../scripts/dev/upstash-bridge.ts';
import { USAGE_CONSUMER_GROUP, USAGE_STREAM } from '../../shared/redis-keys.ts';
import { type NodeEdge, startNodeEdge } from '../../workers/node.ts';
import {
  hasPostgresServer,
  type PrivatePostgres,
  startPrivatePostgres,
} from '../support/private-postgres.ts';
import { hasRedisServer, type PrivateRedis, startPrivateRedis } from '../support/private-redis.ts';
import { migrateUrl } from '../support/test-database.ts';
import {
  appendBacklog,
  createTenantKey,
  DRAIN_CONSUMER,
  type DrainRig,
  expectExactlyOnce,
  type OutageRig,
  redisOutages,
  settleAndTally,
  sleep,
  startDrain,
  startTraffic,
} from '../support/usage-outages.ts';

/**
 * Usage events through the edge (in-process under Node, with the real Redis-backed stores: @upstash/redis
 * through the Upstash bridge to a redis-server of this test's own, and node-postgres to a PostgreSQL server of
 * its own), while the test kills, empties or hangs that Redis, or stops that Postgres. The usage drain's own code
 * runs in-process throughout. After each outage every request answered must be exactly one row in
 * `usage_events`: nothing lost, nothing counted twice.
 */

const ADMIN_TOKEN = `admin-${randomBytes(16).toString('hex')}`;
const run = randomBytes(3).toString('hex');

let redis: PrivateRedis;
let postgres: PrivatePostgres;
let bridge: UpstashBridge;
let origin: StubOrigin;
let edge: NodeEdge;
let drain: DrainRig;
let key: string;

beforeAll(async () => {
  [redis, postgres, origin] = await Promise.all([
    startPrivateRedis({ persist: true }),
    startPrivatePostgres(),
    startStubOrigin(),
  ]);
  await migrateUrl(postgres.url());
  const token = randomBytes(16).toString('hex');
  bridge = await startUpstashBridge({ redisUrl: redis.url, token });
  edge = await startNodeEdge({
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'silent',
    EDGE_HOST: '127.0.0.1',
    EDGE_PORT: '0',
    DATABASE_URL: postgres.url(),
    DATABASE_DRIVER: 'pg',
    DATABASE_CONNECT_TIMEOUT_MS: '1000',
    UPSTASH_REDIS_REST_URL: bridge.url,
    UPSTASH_REDIS_REST_TOKEN: token,
    REDIS_TIMEOUT_MS: '250',
    ORIGINS: `stub=${origin.url}`,
    ORIGIN_SIGNING_KEY: `k1:${randomBytes(16).toString('hex')}`,
    ADMIN_TOKEN,
    // Known keys stay in isolate memory through the outages: this suite is about usage, not key lookups.
    AUTH_MEMORY_TTL_MS: '600000',
    USAGE_FLUSH_INTERVAL_MS: '200',
    USAGE_DATABASE_TIMEOUT_MS: '1000',
  });
  drain = await startDrain({ redisUrl: redis.url, databaseUrl: postgres.url() });
  key = await createTenantKey(edge.url, ADMIN_TOKEN, `outage-${run}`);
}, 60_000);

/** A teardown step that cannot hold the others: after `ms` it is reported and left behind. */
async function bounded(name: string, step: Promise<unknown> | undefined, ms = 20_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => {
    timer = setTimeout(() => r('late'), ms);
  });
  const outcome = await Promise.race([Promise.resolve(step).then(() => 'done' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late')
    process.stdout.write(`usage-outages teardown: ${name} did not close within ${ms} ms\n`);
}

afterAll(async () => {
  await bounded('drain', drain?.close());
  await bounded('edge', edge?.close());
  await bounded('bridge', bridge?.close());
  await bounded('origin', origin?.close());
  await bounded('redis', redis?.close());
  await bounded('postgres', postgres?.close());
}, 180_000);

const traffic = (prefix: string) => startTraffic({ base: edge.url, key, prefix, concurrency: 4, gapMs: 5 });

describe.skipIf(!hasRedisServer || !hasPostgresServer)(
  'usage events through Redis and Postgres outages (Node edge)',
  () => {
    const rig = (): OutageRig => ({ redis, postgres, drain, traffic });

    it('Redis killed for 3 s and restarted with its data: every request is exactly one row', async () => {
      expectExactlyOnce(await redisOutages.killed(rig(), `kill-${run}`));
    }, 45_000);

    it('Redis restarted empty (no persistence): every request is exactly one row', async () => {
      expectExactlyOnce(await redisOutages.restartedEmpty(rig(), `empty-${run}`));
    }, 45_000);

    it('Redis hung (SIGSTOP) 2 s then resumed, hung again 2 s and restarted by its supervisor: requests stay bounded, every request is exactly one row', async () => {
      const tally = await redisOutages.hungThenRestarted(rig(), `hang-${run}`);
      expectExactlyOnce(tally);
      expect(tally.maxLatencyMs).toBeLessThan(5_000);
    }, 45_000);

    it('Redis killed and Postgres stopped together for 3 s: every request is exactly one row', async () => {
      expectExactlyOnce(await redisOutages.withPostgresDown(rig(), `both-${run}`));
    }, 45_000);

    it('Postgres stopped while a crashed drain replica holds a million unacknowledged entries: none is trimmed, every request is exactly one row', async () => {
      const prefix = `pg-${run}`;
      const t = traffic(prefix);
      await sleep(500);
      await postgres.stop();
      await sleep(1_000);
      await t.pause();
      await edge.settle();
      // What was appended so far is this drain's to write (it stops reading new entries while its batch fails).
      await drain.redis.xreadgroup(
        'GROUP',
        USAGE_CONSUMER_GROUP,
        DRAIN_CONSUMER,
        'COUNT',
        100_000,
        'STREAMS',
        USAGE_STREAM,
        '>',
      );
      const firstId = await oldestEntryId();
      expect(firstId).toBeDefined();
      const before = await drain.redis.xlen(USAGE_STREAM);
      // The backlog of a long outage: a million entries another replica read and never acknowledged.
      await appendBacklog(drain.redis, 1_000_000, 'crashed-replica');
      t.resume();
      await sleep(1_500);
      // Nothing unacknowledged was trimmed: the oldest entry and every one added since are still there.
      expect(await oldestEntryId()).toBe(firstId);
      expect(await drain.redis.xlen(USAGE_STREAM)).toBeGreaterThanOrEqual(before + 1_000_000);
      await postgres.start();
      await sleep(1_000);
      const tally = await settleAndTally('postgres down 2.5 s, 1M unacknowledged', t, drain.pool, prefix, {
        timeoutMs: 20_000,
        nudge: true,
        redis: drain.redis,
      });
      expectExactlyOnce(tally);
      // The drain trims what it acknowledged, never the oldest entry it has not acknowledged or anything after it.
      const info = (await drain.redis.xinfo('STREAM', USAGE_STREAM)) as unknown[];
      const maxDeleted = String(info[info.indexOf('max-deleted-entry-id') + 1]);
      const groups = (await drain.redis.xinfo('GROUPS', USAGE_STREAM)) as unknown[][];
      const group = groups.find((g) => g[1] === USAGE_CONSUMER_GROUP)!;
      const lastDelivered = String(group[group.indexOf('last-delivered-id') + 1]);
      const pending = (await drain.redis.xpending(USAGE_STREAM, USAGE_CONSUMER_GROUP)) as [
        number,
        string | null,
      ];
      // Every pending entry is still in the stream.
      expect(await drain.redis.xlen(USAGE_STREAM)).toBeGreaterThanOrEqual(Number(pending[0]));
      if (Number(pending[0]) > 0) expect(compareIds(maxDeleted, pending[1]!)).toBeLessThan(0);
      else expect(compareIds(maxDeleted, lastDelivered)).toBeLessThanOrEqual(0);
      await drain.redis.del(USAGE_STREAM);
    }, 60_000);
  },
);

async function oldestEntryId(): Promise<string | undefined> {
  const entries = (await drain.redis.xrange(USAGE_STREAM, '-', '+', 'COUNT', 1)) as [string, string[]][];
  return entries[0]?.[0];
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}

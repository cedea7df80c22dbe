import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StubOrigin, startStubOrigin } from '../../fixtures/stub-origin.ts';
import { type NeonWsProxy, startNeonWsProxy } from '../../scripts/dev/neon-ws-proxy.ts';
import { startUpstashBridge, type UpstashBridge } from '../../scripts/dev/upstash-bridge.ts';
import {
  hasPostgresServer,
  type PrivatePostgres,
  startPrivatePostgres,
} from '../support/private-postgres.ts';
import { hasRedisServer, type PrivateRedis, startPrivateRedis } from '../support/private-redis.ts';
import { migrateUrl } from '../support/test-database.ts';
import {
  createTenantKey,
  type DrainRig,
  expectExactlyOnce,
  type OutageRig,
  redisOutages,
  startDrain,
  startTraffic,
} from '../support/usage-outages.ts';
import { startWorkerdEdge, type WorkerdEdge } from '../support/workerd-edge.ts';

/**
 * The usage outages of the Node suite (test/faults/usage-outages.test.ts) against the real worker in workerd
 * (`wrangler dev`), where the behaviour that matters lives: each request writes its own event under
 * `waitUntil`, and events held after failed writes are retried by later requests (nothing runs between them).
 * @upstash/redis through the Upstash bridge to a redis-server of this test's own; the Neon driver through the
 * local WebSocket proxy to a PostgreSQL server of its own; the usage drain in-process.
 */

const ADMIN_TOKEN = `admin-${randomBytes(16).toString('hex')}`;
const run = randomBytes(3).toString('hex');

let redis: PrivateRedis;
let postgres: PrivatePostgres;
let bridge: UpstashBridge;
let proxy: NeonWsProxy;
let origin: StubOrigin;
let edge: WorkerdEdge;
let drain: DrainRig;
let base: string;
let key: string;
/** What workerd printed: a request it cancelled (for example as hung) shows only there. */
const edgeOutput: string[] = [];

const ready = hasRedisServer && hasPostgresServer;

beforeAll(async () => {
  if (!ready) return;
  [redis, postgres, origin] = await Promise.all([
    startPrivateRedis({ persist: true }),
    startPrivatePostgres(),
    startStubOrigin(),
  ]);
  await migrateUrl(postgres.url());
  proxy = await startNeonWsProxy({ targetHost: '127.0.0.1', targetPort: postgres.port });
  const token = randomBytes(16).toString('hex');
  bridge = await startUpstashBridge({ redisUrl: redis.url, token });
  edge = await startWorkerdEdge({
    prefix: 'aiserve-usage-workerd-',
    vars: {
      ENVIRONMENT: 'test',
      LOG_LEVEL: 'error',
      DATABASE_URL: postgres.url(),
      DATABASE_DRIVER: 'neon',
      NEON_WS_PROXY: proxy.address,
      DATABASE_MAX_LIFETIME_SECONDS: '0',
      DATABASE_CONNECT_TIMEOUT_MS: '2000',
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: token,
      REDIS_TIMEOUT_MS: '250',
      ORIGINS: `stub=${origin.url}`,
      ORIGIN_SIGNING_KEY: `k1:${randomBytes(16).toString('hex')}`,
      ADMIN_TOKEN,
      // Known keys stay in isolate memory through the outages: this suite is about usage, not key lookups.
      AUTH_MEMORY_TTL_MS: '600000',
      USAGE_DATABASE_TIMEOUT_MS: '2000',
    },
    output: edgeOutput,
    echo: true,
  });
  base = edge.base;
  drain = await startDrain({ redisUrl: redis.url, databaseUrl: postgres.url() });
  key = await createTenantKey(base, ADMIN_TOKEN, `outage-${run}`);
}, 180_000);

afterAll(async () => {
  await drain?.close();
  await edge?.stop();
  await origin?.close();
  await bridge?.close();
  await proxy?.close();
  await redis?.close();
  await postgres?.close();
});

describe.skipIf(!ready)('usage events through Redis outages (the worker in workerd)', () => {
  const rig = (): OutageRig => ({
    redis,
    postgres,
    drain,
    traffic: (prefix) => startTraffic({ base, key, prefix, concurrency: 4, gapMs: 5 }),
  });

  it('Redis killed for 3 s and restarted with its data: every request is exactly one row', async () => {
    expectExactlyOnce(await redisOutages.killed(rig(), `kill-${run}`));
  }, 45_000);

  it('Redis restarted empty (no persistence): every request is exactly one row', async () => {
    expectExactlyOnce(await redisOutages.restartedEmpty(rig(), `empty-${run}`));
  }, 45_000);

  it('Redis hung (SIGSTOP) 2 s then resumed, hung again 2 s and restarted: requests stay bounded, every request is exactly one row', async () => {
    const tally = await redisOutages.hungThenRestarted(rig(), `hang-${run}`);
    expectExactlyOnce(tally);
    expect(tally.maxLatencyMs).toBeLessThan(5_000);
  }, 45_000);

  it('Redis killed and Postgres stopped together for 3 s: held events are written by later requests, each exactly once', async () => {
    expectExactlyOnce(await redisOutages.withPostgresDown(rig(), `both-${run}`));
  }, 45_000);

  it('never left a request waiting on another request’s I/O (workerd would cancel it as hung)', () => {
    expect(edgeOutput.join('\n')).not.toMatch(/hung|canceled this request/);
  });
});

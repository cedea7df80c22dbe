import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../drizzle/client/client.ts';
import { migrateDatabase } from '../../drizzle/migrate.ts';
import { type StubOrigin, startStubOrigin } from '../../fixtures/stub-origin.ts';
import { createTempDatabase, type TempDatabase } from '../../fixtures/temp-database.ts';
import { type NeonWsProxy, startNeonWsProxy } from '../../scripts/dev/neon-ws-proxy.ts';
import { startUpstashBridge, type UpstashBridge } from '../../scripts/dev/upstash-bridge.ts';
import { loadDataConfig } from '../../shared/config/data.ts';
import { USAGE_CONSUMER_GROUP, USAGE_STREAM } from '../../shared/redis-keys.ts';
import { hasRedisServer, type PrivateRedis, startPrivateRedis } from '../support/private-redis.ts';
import { pendingCount } from '../support/usage-fixtures.ts';
import { startWorkerdEdge, type WorkerdEdge } from '../support/workerd-edge.ts';

/**
 * The usage drain of the edge Worker's Cron Trigger in real workerd (`wrangler dev --env dev`, as `npm start`
 * runs the edge): requests through the edge append usage to the Redis stream (@upstash/redis through the local
 * bridge), and a scheduled event (`/cdn-cgi/handler/scheduled`, which wrangler dev serves for exactly this)
 * drains it into Postgres through the Neon driver and the WebSocket proxy. A Redis of this file's own, which the
 * test restarts empty.
 */
const ADMIN_TOKEN = `admin-${randomBytes(16).toString('hex')}`;

let database: TempDatabase;
let proxy: NeonWsProxy;
let redisServer: PrivateRedis;
let redis: Redis;
let bridge: UpstashBridge;
let origin: StubOrigin;
let edge: WorkerdEdge;
let base: string;
const edgeOutput: string[] = [];

beforeAll(async () => {
  if (!hasRedisServer) return;
  database = await createTempDatabase();
  const handle = await createDatabase(loadDataConfig({ DATABASE_URL: database.url, DATABASE_DRIVER: 'pg' }));
  await migrateDatabase(handle.primary);
  await handle.close();
  const target = new URL(database.url);
  proxy = await startNeonWsProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  redisServer = await startPrivateRedis();
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
  redis.on('error', () => {});
  bridge = await startUpstashBridge({ redisUrl: redisServer.url, token: randomBytes(16).toString('hex') });
  origin = await startStubOrigin();
  edge = await startWorkerdEdge({
    prefix: 'aiserve-edge-drain-',
    vars: {
      ENVIRONMENT: 'test',
      LOG_LEVEL: 'info',
      DATABASE_URL: database.url,
      DATABASE_DRIVER: 'neon',
      NEON_WS_PROXY: proxy.address,
      DATABASE_MAX_LIFETIME_SECONDS: '0',
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: bridge.token,
      ORIGINS: `stub=${origin.url}`,
      ORIGIN_SIGNING_KEY: `k1:${randomBytes(16).toString('hex')}`,
      ADMIN_TOKEN,
      // Several rounds per pass.
      USAGE_DRAIN_BATCH: '10',
    },
    output: edgeOutput,
  });
  base = edge.base;
}, 180_000);

afterAll(async () => {
  await edge?.stop();
  await origin?.close();
  await bridge?.close();
  await proxy?.close();
  redis?.disconnect();
  await redisServer?.close();
  await database?.drop();
});

const call = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, init);
const operator = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

async function tenantKey(name: string): Promise<string> {
  const t = await call('/admin/v1/tenants', {
    method: 'POST',
    headers: operator,
    body: JSON.stringify({ name, plan: 'pro' }),
  });
  expect(t.status, await t.clone().text()).toBe(201);
  const k = await call(`/admin/v1/tenants/${name}/keys`, { method: 'POST', headers: operator, body: '{}' });
  expect(k.status, await k.clone().text()).toBe(201);
  return ((await k.json()) as { key: string }).key;
}

/** `n` inference requests, each of its own input (half of them cache misses), all answered 200. */
async function sendRequests(key: string, n: number, salt: number): Promise<void> {
  for (let i = 0; i < n; i += 1) {
    const res = await call('/v2/models/m/infer', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [salt, i % Math.ceil(n / 2)] }],
      }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    await res.text();
  }
}

/** The edge appends in waitUntil, after each answer: wait (bounded) until the stream holds `n` entries. */
async function streamHolds(n: number): Promise<void> {
  let len = 0;
  for (let i = 0; i < 200 && len < n; i += 1) {
    len = await redis.xlen(USAGE_STREAM);
    if (len < n) await new Promise((r) => setTimeout(r, 50));
  }
  expect(len).toBe(n);
}

/**
 * One scheduled event, as the Cron Trigger sends every minute; resolves when the handler has finished (wrangler
 * dev answers once it has). The same invocation runs the fleet reconcile, which fails here (no control plane is
 * configured: no host image), so the invocation's own outcome (500 `exception`) is not the drain's: the rows are.
 */
async function triggerCron(): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  const res = await call('/cdn-cgi/handler/scheduled?cron=*+*+*+*+*');
  await res.text();
  return { status: res.status, ms: Date.now() - started };
}

async function usageReport(tenant: string): Promise<{ requests: number; events: number }> {
  const res = await call(
    `/admin/v1/tenants/${tenant}/usage?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&limit=1000`,
    { headers: operator },
  );
  expect(res.status, await res.clone().text()).toBe(200);
  const body = (await res.json()) as { totals: { requests: number }; events: unknown[] };
  return { requests: body.totals.requests, events: body.events.length };
}

const rows = async (): Promise<number> => {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query('SELECT count(*)::int AS n FROM usage_events')).rows[0].n;
  } finally {
    await client.end();
  }
};

describe.skipIf(!hasRedisServer)('the Cron Trigger drains usage in real workerd', () => {
  it('every request through the edge becomes one usage row after a scheduled event, also after Redis restarted empty', async () => {
    const key = await tenantKey('cron-co');
    await sendRequests(key, 35, 1);
    await streamHolds(35);
    expect(await rows()).toBe(0);

    const first = await triggerCron();
    expect(await rows(), edgeOutput.join('').slice(-3000)).toBe(35);
    expect(await usageReport('cron-co')).toEqual({ requests: 35, events: 35 });
    expect(await pendingCount(redis, USAGE_STREAM, USAGE_CONSUMER_GROUP)).toBe(0);

    // Nothing new: a pass finds nothing and writes nothing twice.
    await triggerCron();
    expect(await rows()).toBe(35);

    // Redis loses everything (stream, group, the edge's cached keys and limits); the edge goes on appending.
    await redisServer.restartEmpty();
    await sendRequests(key, 12, 2);
    await streamHolds(12);
    const second = await triggerCron();
    expect(await rows(), edgeOutput.join('').slice(-3000)).toBe(47);
    expect(await usageReport('cron-co')).toEqual({ requests: 47, events: 47 });
    expect(await pendingCount(redis, USAGE_STREAM, USAGE_CONSUMER_GROUP)).toBe(0);
    process.stdout.write(
      `workerd cron drain: 35 events in one pass of ${first.ms} ms (batch 10); 12 after Redis restarted empty in ${second.ms} ms\n`,
    );
  }, 120_000);
});

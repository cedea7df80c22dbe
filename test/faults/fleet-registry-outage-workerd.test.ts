import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../drizzle/client/client.ts';
import { migrateDatabase } from '../../drizzle/migrate.ts';
import { createKey } from '../../drizzle/queries/keys.ts';
import { createTenant } from '../../drizzle/queries/tenants.ts';
import { type StubOrigin, startStubOrigin } from '../../fixtures/stub-origin.ts';
import { createTempDatabase, type TempDatabase } from '../../fixtures/temp-database.ts';
import { type NeonWsProxy, startNeonWsProxy } from '../../scripts/dev/neon-ws-proxy.ts';
import { type Child, waitForHttp } from '../../scripts/dev/stack/child.ts';
import { startEdgeProcess, writeEnvFile } from '../../scripts/dev/stack/edge.ts';
import { freePort } from '../../scripts/dev/stack/free-port.ts';
import { startUpstashBridge, type UpstashBridge } from '../../scripts/dev/upstash-bridge.ts';
import { loadDataConfig } from '../../shared/config/data.ts';
import type { OriginRecord } from '../../shared/fleet/origin-record.ts';
import { registryHeartbeat } from '../support/fleet-heartbeat.ts';
import { hasRedisServer, type PrivateRedis, startPrivateRedis } from '../support/private-redis.ts';

/**
 * The fleet registry's Redis down for the real worker in real workerd (`wrangler dev`, as `npm start` runs it):
 * a worker process reads the registry, then stops; Redis stops and an origin dies; a fresh worker process (a
 * cold isolate: it never read the registry) starts on the same local state, where the first one's Cache API
 * entries persist as a location's do. It must route on the snapshot found there, and see the registry again
 * once Redis restarts (empty). Keys come from PostgreSQL through the Neon proxy. 127.0.0.1 only.
 */

const TOKEN = randomBytes(16).toString('hex');
const ADMIN_TOKEN = `admin-${randomBytes(16).toString('hex')}`;

let redis: PrivateRedis;
let bridge: UpstashBridge;
let database: TempDatabase;
let proxy: NeonWsProxy;
let apiKey: string;
let stateDir: string;
let envFile: string;
const stubs: StubOrigin[] = [];
const beats: Array<() => void> = [];
const workers: Child[] = [];
/** What workerd printed: a request it cancelled (for example as hung) shows only there. */
const output: string[] = [];

async function startWorker(): Promise<string> {
  const port = await freePort();
  const worker = startEdgeProcess({
    port,
    host: '127.0.0.1',
    inspectorPort: await freePort(),
    envFile,
    stateDir,
    cwd: process.cwd(),
    env: { ...process.env },
    write: (line) => {
      output.push(line.trimEnd());
    },
  });
  workers.push(worker);
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/v2/health/live`, { child: worker, timeoutMs: 150_000 });
  return base;
}

async function infer(base: string, i: number): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${base}/v2/models/m/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [i, Math.random()] }],
    }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  return res.status === 200 ? { status: 200 } : { status: res.status, code: JSON.parse(text).code };
}

/** `total` distinct inference requests (each a cache miss), four at a time. */
async function burst(base: string, total: number, from: number) {
  const answers: Array<{ status: number; code?: string }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < total) answers.push(await infer(base, from + next++));
    }),
  );
  return answers;
}

async function fleetIds(base: string): Promise<string | null> {
  const res = await fetch(`${base}/admin/v1/fleet`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(5_000),
  }).catch(() => null);
  if (res?.status !== 200) {
    await res?.text();
    return null;
  }
  return ((await res.json()) as { origins: OriginRecord[] }).origins
    .map((o) => o.id)
    .sort()
    .join();
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms\n${output.slice(-30).join('\n')}`);
}

beforeAll(async () => {
  if (!hasRedisServer) return;
  redis = await startPrivateRedis();
  bridge = await startUpstashBridge({ redisUrl: redis.url, token: TOKEN });
  database = await createTempDatabase();
  const handle = await createDatabase(
    loadDataConfig({ DATABASE_URL: database.url, DATABASE_DRIVER: 'pg', DATABASE_POOL_MAX: '2' }),
  );
  try {
    await migrateDatabase(handle.primary);
    const tenant = await createTenant(handle.primary, {
      name: 'fleet-outage-workerd',
      plan: 'enterprise',
      requestsPerMinute: 10_000_000,
      burst: 1_000_000,
    });
    apiKey = (await createKey(handle.primary, { tenantId: tenant.id, scopes: ['*'] })).key;
  } finally {
    await handle.close();
  }
  const target = new URL(database.url);
  proxy = await startNeonWsProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  stateDir = await mkdtemp(join(tmpdir(), 'aiserve-fleet-workerd-'));
  envFile = join(stateDir, 'edge.env');
  await writeEnvFile(envFile, {
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: database.url,
    DATABASE_DRIVER: 'neon',
    NEON_WS_PROXY: proxy.address,
    DATABASE_MAX_LIFETIME_SECONDS: '0',
    UPSTASH_REDIS_REST_URL: bridge.url,
    UPSTASH_REDIS_REST_TOKEN: TOKEN,
    REDIS_TIMEOUT_MS: '500',
    ORIGIN_REGISTRY: 'redis',
    ORIGIN_REGISTRY_CACHE_MS: '200',
    ADMIN_TOKEN,
  });
}, 60_000);

afterAll(async () => {
  for (const stop of beats) stop();
  for (const worker of workers) await worker.stop(5_000);
  await Promise.all(stubs.map((s) => s.close()));
  await proxy?.close();
  await bridge?.close();
  await redis?.close();
  await database?.drop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe.skipIf(!hasRedisServer)('the worker in workerd while the fleet registry (Redis) is down', () => {
  it('a fresh worker process routes on the fleet its location cached, then on the registry once Redis is back', async () => {
    const registry = new Redis({ url: bridge.url, token: TOKEN, retry: false });
    const [a, b, c] = await Promise.all([startStubOrigin(), startStubOrigin(), startStubOrigin()]);
    stubs.push(a!, b!, c!);
    beats.push(registryHeartbeat(registry, { id: 'a', url: a!.url }));
    const stopB = registryHeartbeat(registry, { id: 'b', url: b!.url });
    beats.push(stopB);

    const first = await startWorker();
    await until('the first worker lists a and b', async () => (await fleetIds(first)) === 'a,b', 30_000);
    expect((await burst(first, 8, 0)).map((r) => r.status)).toEqual(Array(8).fill(200));
    await workers[0]!.stop(5_000);

    // Redis down, then b dies, unseen by the registry; then a worker process that never read the registry.
    await redis.stop();
    stopB();
    await b!.close();
    const cold = await startWorker();
    const down = await burst(cold, 40, 1_000);
    const failed = down.filter((r) => r.status !== 200);

    // Redis back, empty: a heartbeats in again, c joins.
    const upAt = Date.now();
    await redis.start();
    beats.push(registryHeartbeat(registry, { id: 'c', url: c!.url }));
    await until('the cold worker lists a and c', async () => (await fleetIds(cold)) === 'a,c', 30_000);
    const recoveredMs = Date.now() - upAt;
    const cBefore = c!.inferCalls();
    const after = await burst(cold, 20, 2_000);
    const figures = {
      sentWhileDown: down.length,
      fivexxWhileDown: failed.length,
      codes: [...new Set(failed.map((r) => `${r.status}:${r.code ?? ''}`))],
      recoveredMs,
      sentAfter: after.length,
      servedByC: c!.inferCalls() - cBefore,
    };
    console.log(`fleet registry outage (workerd): ${JSON.stringify(figures)}`);
    expect(failed, output.slice(-30).join('\n')).toEqual([]);
    expect(after.every((r) => r.status === 200)).toBe(true);
    expect(figures.servedByC).toBeGreaterThan(0);
    expect(output.join('\n')).not.toMatch(/hung|canceled this request/);
  }, 300_000);
});

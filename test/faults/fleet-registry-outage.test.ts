import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../drizzle/client/client.ts';
import { migrateDatabase } from '../../drizzle/migrate.ts';
import { createKey } from '../../drizzle/queries/keys.ts';
import { createTenant } from '../../drizzle/queries/tenants.ts';
import { type StubOrigin, startStubOrigin } from '../../fixtures/stub-origin.ts';
import { createTempDatabase, type TempDatabase } from '../../fixtures/temp-database.ts';
import { type Child, startChild, waitForHttp } from '../../scripts/dev/stack/child.ts';
import { freePort } from '../../scripts/dev/stack/free-port.ts';
import { startUpstashBridge, type UpstashBridge } from '../../scripts/dev/upstash-bridge.ts';
import { loadDataConfig } from '../../shared/config/data.ts';
import type { OriginRecord } from '../../shared/fleet/origin-record.ts';
import { type NodeEdge, startNodeEdge } from '../../workers/node.ts';
import { registryHeartbeat } from '../support/fleet-heartbeat.ts';
import { hasRedisServer, type PrivateRedis, startPrivateRedis } from '../support/private-redis.ts';

/**
 * The fleet registry's Redis stopped under load through the edge, then started again (empty, as after a crash),
 * with the real Redis-backed stores (the edge's @upstash/redis through the local bridge to a redis-server of
 * this file's own), Postgres for keys, and stub origins that heartbeat into the registry as origins do. One edge
 * runs in this process (warm when Redis goes); a second is a fresh `workers/node.ts` process started while
 * Redis is down (cold: it never read the registry). Everything on 127.0.0.1, bounded in time and traffic.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = randomBytes(16).toString('hex');
const ADMIN_TOKEN = `admin-${randomBytes(16).toString('hex')}`;
const HEARTBEAT_MS = 250;

let redis: PrivateRedis;
let bridge: UpstashBridge;
let database: TempDatabase;
let apiKey: string;
let stateDir: string;
const stubs: StubOrigin[] = [];
const beats: Array<() => void> = [];
const edges: NodeEdge[] = [];
let cold: Child | undefined;
const coldOutput: string[] = [];

/** A stub's heartbeat into the registry; stopped with the file. */
function heartbeat(client: Redis, id: string, url: string): () => void {
  const stop = registryHeartbeat(client, { id, url }, HEARTBEAT_MS);
  beats.push(stop);
  return stop;
}

interface Sent {
  edge: 'warm' | 'cold';
  at: number;
  ms: number;
  status: number;
  code?: string;
}

/** `concurrency` loops of distinct inference requests (each a cache miss), ~5 ms apart, until stopped. */
function load(base: string, edge: Sent['edge'], sent: Sent[], concurrency = 3) {
  let running = true;
  let n = 0;
  const loop = async () => {
    while (running) {
      const at = Date.now();
      const values = [n++, Math.random()];
      try {
        const res = await fetch(`${base}/v2/models/m/infer`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: values }] }),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        let code: string | undefined;
        if (res.status >= 400) code = (JSON.parse(text) as { code?: string }).code;
        sent.push({ edge, at, ms: Date.now() - at, status: res.status, ...(code ? { code } : {}) });
      } catch {
        sent.push({ edge, at, ms: Date.now() - at, status: 0 });
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}

/** The router's own view of the fleet on that edge (`GET /admin/v1/fleet`), as ids; null while it fails. */
async function fleetIds(base: string): Promise<string[] | null> {
  const res = await fetch(`${base}/admin/v1/fleet`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(5_000),
  }).catch(() => null);
  if (!res) return null;
  if (res.status !== 200) {
    await res.text();
    return null;
  }
  return ((await res.json()) as { origins: OriginRecord[] }).origins.map((o) => o.id).sort();
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

function edgeEnv(snapshotDir: string): Record<string, string> {
  return {
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'error',
    EDGE_HOST: '127.0.0.1',
    EDGE_PORT: '0',
    DATABASE_URL: database.url,
    DATABASE_DRIVER: 'pg',
    DATABASE_POOL_MAX: '4',
    UPSTASH_REDIS_REST_URL: bridge.url,
    UPSTASH_REDIS_REST_TOKEN: TOKEN,
    REDIS_TIMEOUT_MS: '500',
    ORIGIN_REGISTRY: 'redis',
    ORIGIN_REGISTRY_CACHE_MS: '200',
    FLEET_SNAPSHOT_DIR: snapshotDir,
    ADMIN_TOKEN,
  };
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
      name: 'fleet-outage',
      plan: 'enterprise',
      requestsPerMinute: 10_000_000,
      burst: 1_000_000,
    });
    apiKey = (await createKey(handle.primary, { tenantId: tenant.id, scopes: ['*'] })).key;
  } finally {
    await handle.close();
  }
  stateDir = await mkdtemp(join(tmpdir(), 'aiserve-fleet-outage-'));
}, 60_000);

afterAll(async () => {
  for (const stop of beats) stop();
  await cold?.stop(5_000);
  await Promise.all(edges.map((e) => e.close()));
  await Promise.all(stubs.map((s) => s.close()));
  await bridge?.close();
  await redis?.close();
  await database?.drop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe.skipIf(!hasRedisServer)('the edge while the fleet registry (Redis) is down', () => {
  it('serves every request whose origin is healthy, a cold edge included, and recovers once Redis is back', async () => {
    const registry = new Redis({ url: bridge.url, token: TOKEN, retry: false });
    const snapshotDir = join(stateDir, 'last-known');
    const [a, b, c] = await Promise.all([startStubOrigin(), startStubOrigin(), startStubOrigin()]);
    stubs.push(a!, b!, c!);
    heartbeat(registry, 'a', a!.url);
    const stopB = heartbeat(registry, 'b', b!.url);

    const warm = await startNodeEdge({ ...edgeEnv(snapshotDir), LOG_LEVEL: 'silent' });
    edges.push(warm);
    await until(
      'the warm edge lists a and b',
      async () => (await fleetIds(warm.url))?.join() === 'a,b',
      10_000,
    );
    // The last known fleet is written where a new instance finds it (immediately on the first read).
    await until(
      'the fleet snapshot is written',
      () =>
        readdir(snapshotDir).then(
          (files) => files.some((f) => f.endsWith('.json')),
          () => false,
        ),
      3_000,
    ).catch(() => {});

    const sent: Sent[] = [];
    const stopWarmLoad = load(warm.url, 'warm', sent);
    await new Promise((r) => setTimeout(r, 700));

    // Redis goes down under load; then origin b dies, unseen by the registry.
    const downAt = Date.now();
    await redis.stop();
    await new Promise((r) => setTimeout(r, 300));
    stopB();
    await b!.close();

    // A fresh edge process, started while Redis is down: it has never read the registry.
    const port = await freePort();
    cold = startChild({
      name: 'cold-edge',
      command: process.execPath,
      args: ['--import', 'tsx', 'workers/node.ts'],
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...edgeEnv(snapshotDir), EDGE_PORT: String(port) },
      write: (line) => {
        coldOutput.push(line.trimEnd());
        if (coldOutput.length > 50) coldOutput.shift();
      },
    });
    const coldUrl = `http://127.0.0.1:${port}`;
    await waitForHttp(`${coldUrl}/v2/health/live`, { child: cold, timeoutMs: 60_000 });
    const stopColdLoad = load(coldUrl, 'cold', sent);
    await new Promise((r) => setTimeout(r, 2_500));
    const breakerOfB = warm.edge.services.routing!.breakers.state('b');
    // Past the staleness bound the last known fleet is not used: 503 naming the registry.
    const strict = await startNodeEdge({
      ...edgeEnv(snapshotDir),
      LOG_LEVEL: 'silent',
      FLEET_STALE_IF_ERROR_SECONDS: '1',
    });
    edges.push(strict);
    const refused = await fetch(`${strict.url}/v2/models/m/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] }),
    });
    const refusal = (await refused.json()) as { code: string; error: string };

    // Redis back, empty: the live origins heartbeat in again, and a new origin c joins.
    const upAt = Date.now();
    await redis.start();
    heartbeat(registry, 'c', c!.url);
    const redisStartMs = Date.now() - upAt;
    // Time to recover: from the restart until the edge routes on the fleet Redis holds again (c in, b out).
    const [warmRecoveredMs, coldRecoveredMs] = await Promise.all(
      [warm.url, coldUrl].map(async (base) => {
        await until(
          'the edge lists a and c again',
          async () => (await fleetIds(base))?.join() === 'a,c',
          20_000,
        );
        return Date.now() - upAt;
      }),
    );
    const cBefore = c!.inferCalls();
    await new Promise((r) => setTimeout(r, 1_000));
    const cServed = c!.inferCalls() - cBefore;
    await Promise.all([stopWarmLoad(), stopColdLoad()]);

    const down = sent.filter((s) => s.at >= downAt && s.at < upAt);
    const failed = (list: Sent[]) => list.filter((s) => s.status === 0 || s.status >= 500);
    const figures = {
      sent: sent.length,
      sentWhileDown: down.length,
      coldWhileDown: down.filter((s) => s.edge === 'cold').length,
      fivexxWhileDown: failed(down).length,
      fivexxTotal: failed(sent).length,
      slowestWhileDownMs: Math.max(0, ...down.map((s) => s.ms)),
      codes: [...new Set(failed(sent).map((s) => `${s.edge}:${s.status}:${s.code ?? ''}`))],
      redisDownMs: upAt - downAt,
      redisStartMs,
      recoveredMs: { warm: warmRecoveredMs, cold: coldRecoveredMs },
      breakerOfB,
      cServedInOneSecond: cServed,
    };
    console.log(`fleet registry outage: ${JSON.stringify(figures)}`);
    expect(down.filter((s) => s.edge === 'cold').length, coldOutput.join('\n')).toBeGreaterThan(20);
    expect(figures.fivexxWhileDown, JSON.stringify(figures.codes)).toBe(0);
    expect(figures.fivexxTotal, JSON.stringify(figures.codes)).toBe(0);
    expect(sent.every((s) => s.status === 200)).toBe(true);
    // b died while Redis was down: its breaker opened and its requests were retried on a.
    expect(breakerOfB).toBe('open');
    // New origins are visible again without a restart, and get traffic.
    expect(cServed).toBeGreaterThan(0);
    expect(refused.status).toBe(503);
    expect(refusal.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(refusal.error).toMatch(/registry \(Redis\) is unreachable.*last 1 s/);
  }, 120_000);
});

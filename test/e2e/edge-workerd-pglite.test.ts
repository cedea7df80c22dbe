import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../drizzle/client/client.ts';
import { migrateDatabase } from '../../drizzle/migrate.ts';
import { type StubOrigin, startStubOrigin } from '../../fixtures/stub-origin.ts';
import { type NeonWsProxy, startNeonWsProxy } from '../../scripts/dev/neon-ws-proxy.ts';
import { type PgliteServer, startPglite } from '../../scripts/dev/pglite-server.ts';
import { loadDataConfig } from '../../shared/config/data.ts';
import { startWorkerdEdge, type WorkerdEdge } from '../support/workerd-edge.ts';

/**
 * The edge worker in real workerd as `npm start` runs it without Redis: the Neon driver through the local
 * WebSocket proxy to the PGlite socket server, usage buffered in the isolate and inserted into Postgres. Every
 * database use opens a connection (Workers sockets cannot cross requests), so what matters is that each one is
 * closed: PGlite, unlike PostgreSQL, keeps a connection until the client hangs up, and refuses new ones past
 * its cap. Connections are counted there, on the server.
 */

const ADMIN_TOKEN = `admin-${randomBytes(16).toString('hex')}`;
/** The PGlite server's cap (`PGLITE_MAX_CONNECTIONS`, 64 in the local stack). */
const MAX_CONNECTIONS = 64;

let pglite: PgliteServer;
let proxy: NeonWsProxy;
let origin: StubOrigin;
let edge: WorkerdEdge;
let base: string;
const edgeOutput: string[] = [];

beforeAll(async () => {
  pglite = await startPglite({ dataDir: 'memory://', maxConnections: MAX_CONNECTIONS });
  const handle = await createDatabase(
    loadDataConfig({ DATABASE_URL: pglite.url, DATABASE_DRIVER: 'pg', DATABASE_POOL_MAX: '1' }),
  );
  await migrateDatabase(handle.primary);
  await handle.close();
  proxy = await startNeonWsProxy({ targetHost: pglite.host, targetPort: pglite.port });
  origin = await startStubOrigin();
  // Requests overlap at the origin, as real inference does.
  origin.setInferDelay(5);
  edge = await startWorkerdEdge({
    prefix: 'aiserve-edge-pglite-',
    vars: {
      ENVIRONMENT: 'test',
      LOG_LEVEL: 'error',
      DATABASE_URL: pglite.url,
      DATABASE_DRIVER: 'neon',
      NEON_WS_PROXY: proxy.address,
      DATABASE_MAX_LIFETIME_SECONDS: '0',
      ORIGINS: `stub=${origin.url}`,
      ORIGIN_SIGNING_KEY: `k1:${randomBytes(16).toString('hex')}`,
      ADMIN_TOKEN,
      // Many database uses per second: the key looked up again every 100 ms (16 lookups at once when the
      // entry expires), usage inserted in batches of 10, last_used_at written every 100 ms.
      AUTH_MEMORY_TTL_MS: '100',
      USAGE_BATCH_SIZE: '10',
      USAGE_FLUSH_INTERVAL_MS: '100',
      AUTH_TOUCH_INTERVAL_MS: '100',
    },
    output: edgeOutput,
    echo: true,
  });
  base = edge.base;
}, 240_000);

afterAll(async () => {
  await edge?.stop();
  await origin?.close();
  await proxy?.close();
  await pglite?.close();
});

const call = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, init);
const operator = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

async function tenantKey(name: string): Promise<string> {
  const t = await call('/admin/v1/tenants', {
    method: 'POST',
    headers: operator,
    body: JSON.stringify({ name, plan: 'enterprise' }),
  });
  expect(t.status, await t.clone().text()).toBe(201);
  const k = await call(`/admin/v1/tenants/${name}/keys`, { method: 'POST', headers: operator, body: '{}' });
  expect(k.status, await k.clone().text()).toBe(201);
  return ((await k.json()) as { key: string }).key;
}

const inferNoCache = (key: string, i: number): RequestInit => ({
  method: 'POST',
  headers: {
    authorization: `Bearer ${key}`,
    'content-type': 'application/json',
    'cache-control': 'no-store',
  },
  body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [i, 0.5] }] }),
});

/** `total` no-cache inference requests, `concurrency` at a time; the statuses seen, and the most connections. */
async function load(key: string, total: number, concurrency: number) {
  const statuses: Record<number, number> = {};
  let most = 0;
  let sent = 0;
  const client = async () => {
    while (sent < total) {
      sent += 1;
      const res = await call('/v2/models/m/infer', inferNoCache(key, sent));
      await res.text();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      most = Math.max(most, pglite.connections());
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { statuses, most };
}

const connectionsSettle = () => expect.poll(() => pglite.connections(), { timeout: 10_000, interval: 50 });

describe('the edge worker in workerd without Redis, on PGlite through the Neon proxy', () => {
  it('closes every database connection it opens: three rounds of 16 concurrent no-cache requests leave none open', async () => {
    const key = await tenantKey('load-co');
    await connectionsSettle().toBe(0);
    for (let round = 0; round < 3; round++) {
      const { statuses, most } = await load(key, 300, 16);
      expect(statuses).toEqual({ 200: 300 });
      // At most one connection per database use in flight, well under the cap.
      expect(most).toBeLessThan(MAX_CONNECTIONS / 2);
      // Once the usage and last_used_at writes (waitUntil) are done, nothing is left open.
      await connectionsSettle().toBe(0);
    }
    expect(edgeOutput.join('\n')).not.toMatch(/hung|canceled this request|did not close/);
  }, 180_000);

  it('still serves the admin API and a new key afterwards', async () => {
    const key = await tenantKey('after-load-co');
    const res = await call('/v2/models/m/infer', inferNoCache(key, 1));
    expect(res.status, await res.clone().text()).toBe(200);
    const list = await call('/admin/v1/tenants/after-load-co/keys', { headers: operator });
    expect(list.status).toBe(200);
    await connectionsSettle().toBe(0);
  });
});

import { randomBytes } from 'node:crypto';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../drizzle/client/client.ts';
import { migrateDatabase } from '../../drizzle/migrate.ts';
import { type StubOrigin, startStubOrigin } from '../../fixtures/stub-origin.ts';
import { createTempDatabase, type TempDatabase } from '../../fixtures/temp-database.ts';
import { type NeonWsProxy, startNeonWsProxy } from '../../scripts/dev/neon-ws-proxy.ts';
import { startUpstashBridge, type UpstashBridge } from '../../scripts/dev/upstash-bridge.ts';
import { seededRandom as rng } from '../../scripts/sim/rng.ts';
import { loadDataConfig } from '../../shared/config/data.ts';
import {
  checkEdgeAnswer,
  describeSent,
  fetchRefuses,
  randomEdgeRequest,
} from '../support/hostile-edge-requests.ts';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.ts';
import { startWorkerdEdge, type WorkerdEdge } from '../support/workerd-edge.ts';

/**
 * The real edge worker (workers/index.ts under `wrangler dev --env dev`, as `npm start` runs it) in real
 * workerd, wired as in production: the
 * Neon driver through the local WebSocket proxy to PostgreSQL 15, @upstash/redis through the local bridge to
 * Redis 7, the Workers Cache API, and an origin behind the router. Tenants and keys are made through the
 * worker's own admin API. A Redis logical database of its own (14), flushed before and after.
 */

const REDIS_URL = `${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}/14`;
const ADMIN_TOKEN = `admin-${randomBytes(16).toString('hex')}`;

let database: TempDatabase;
let proxy: NeonWsProxy;
let bridge: UpstashBridge;
let redis: IORedis;
let origin: StubOrigin;
let edge: WorkerdEdge;
let base: string;
/** The trace collector the worker exports its spans to (every request's, in waitUntil). */
let collector: OtlpReceiver;
const COLLECTOR_KEY = randomBytes(8).toString('hex');
/** What workerd printed: a request it cancelled (for example as hung) shows only there. */
const edgeOutput: string[] = [];

beforeAll(async () => {
  database = await createTempDatabase();
  const handle = await createDatabase(loadDataConfig({ DATABASE_URL: database.url, DATABASE_DRIVER: 'pg' }));
  await migrateDatabase(handle.primary);
  await handle.close();
  const target = new URL(database.url);
  proxy = await startNeonWsProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  redis = new IORedis(REDIS_URL);
  await redis.flushdb();
  const token = randomBytes(16).toString('hex');
  bridge = await startUpstashBridge({ redisUrl: REDIS_URL, token });
  origin = await startStubOrigin();
  collector = await startOtlpReceiver();
  const vars: Record<string, string> = {
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'error',
    DATABASE_URL: database.url,
    DATABASE_DRIVER: 'neon',
    NEON_WS_PROXY: proxy.address,
    DATABASE_MAX_LIFETIME_SECONDS: '0',
    UPSTASH_REDIS_REST_URL: bridge.url,
    UPSTASH_REDIS_REST_TOKEN: token,
    ORIGINS: `stub=${origin.url}`,
    ORIGIN_SIGNING_KEY: `k1:${randomBytes(16).toString('hex')}`,
    ADMIN_TOKEN,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    OTEL_EXPORTER_OTLP_HEADERS: `x-collector-key=${COLLECTOR_KEY}`,
  };
  edge = await startWorkerdEdge({
    prefix: 'aiserve-edge-workerd-',
    vars: vars,
    output: edgeOutput,
    echo: true,
  });
  base = edge.base;
}, 180_000);

afterAll(async () => {
  await edge?.stop();
  await origin?.close();
  await collector?.close();
  await bridge?.close();
  await proxy?.close();
  if (redis) {
    await redis.flushdb();
    redis.disconnect();
  }
  await database?.drop();
});

const call = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, init);
const operator = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

async function tenantKey(
  name: string,
  body: Record<string, unknown> = {},
  tenant: Record<string, unknown> = {},
) {
  const t = await call('/admin/v1/tenants', {
    method: 'POST',
    headers: operator,
    body: JSON.stringify({ name, plan: 'pro', ...tenant }),
  });
  expect(t.status, await t.clone().text()).toBe(201);
  const k = await call(`/admin/v1/tenants/${name}/keys`, {
    method: 'POST',
    headers: operator,
    body: JSON.stringify(body),
  });
  expect(k.status, await k.clone().text()).toBe(201);
  return (await k.json()) as { key: string; record: { prefix: string; id: string } };
}

const infer = (key: string, values: number[], headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
  body: JSON.stringify({
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, values.length], data: values }],
  }),
});

describe('the edge worker in real workerd (Neon driver, Upstash bridge, Cache API)', () => {
  it('is ready, naming Postgres (through the Neon driver) and Redis as up', async () => {
    const res = await call('/v2/health/ready');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, dependencies: { postgres: 'up', redis: 'up' } });
  });

  it('refuses a missing or unknown key with 401 JSON, and a model outside the key’s scope with 403', async () => {
    const missing = await call('/v2/models/m/infer', { method: 'POST', body: '{}' });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const unknown = await call('/v2/models/m/infer', infer('ais_live_abcdefghijkl_' + 'x'.repeat(40), [1]));
    expect(unknown.status).toBe(401);
    const { key } = await tenantKey('scoped-co', { scopes: ['ocr-cls'] });
    const outside = await call('/v2/models/other/infer', infer(key, [1]));
    expect(outside.status).toBe(403);
    expect(await outside.json()).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('answers MISS then HIT from its caches, BYPASS on no-store, with rate-limit headers on each', async () => {
    const { key } = await tenantKey('cache-co');
    const before = origin.inferCalls();
    const first = await call('/v2/models/m/infer', infer(key, [0.5, 1.5]));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('ratelimit-limit')).toMatch(/^\d+$/);
    expect(first.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
    await first.text();
    let second: Response | undefined;
    for (let i = 0; i < 40; i++) {
      // The fill runs in waitUntil after the answer: poll briefly until it has landed.
      second = await call('/v2/models/m/infer', infer(key, [0.5, 1.5]));
      if (second.headers.get('x-cache')?.startsWith('HIT')) break;
      await second.text();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(second!.headers.get('x-cache')).toMatch(/^HIT-(EDGE|REDIS)$/);
    expect(await second!.json()).toMatchObject({ outputs: [{ name: 'y', data: [0.25, 0.75] }] });
    const bypass = await call('/v2/models/m/infer', infer(key, [0.5, 1.5], { 'cache-control': 'no-store' }));
    expect(bypass.headers.get('x-cache')).toBe('BYPASS');
    await bypass.text();
    expect(origin.inferCalls() - before).toBe(2);
  });

  it('writes one usage event per request to the Redis stream, concurrent requests included', async () => {
    const { key, record } = await tenantKey('usage-co');
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => call('/v2/models/m/infer', infer(key, [i, 0.5]))),
    );
    for (const a of answers) {
      expect(a.status).toBe(200);
      await a.text();
    }
    // Written after the answers, in waitUntil (batched for USAGE_STREAM_BATCH_MS): poll briefly.
    let mine: string[] = [];
    for (let i = 0; i < 50; i++) {
      const entries = (await redis.xrange('aiserve:usage', '-', '+')) as [string, string[]][];
      mine = entries
        .map(([, fields]) => fields[fields.indexOf('e') + 1] ?? '')
        .filter((json) => json.includes(record.id));
      if (mine.length >= 6) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(mine).toHaveLength(6);
    expect(mine.map((json) => JSON.parse(json) as { status: number; model: string })).toEqual(
      Array(6).fill(expect.objectContaining({ status: 200, model: 'm' })),
    );
  });

  it('never serves one tenant’s cached answer to another', async () => {
    const a = await tenantKey('iso-a');
    const b = await tenantKey('iso-b');
    const values = [7, 8, 9];
    await (await call('/v2/models/m/infer', infer(a.key, values))).text();
    let warm = '';
    for (let i = 0; i < 40 && !warm.startsWith('HIT'); i++) {
      const res = await call('/v2/models/m/infer', infer(a.key, values));
      warm = res.headers.get('x-cache') ?? '';
      await res.text();
    }
    expect(warm).toMatch(/^HIT/);
    const other = await call('/v2/models/m/infer', infer(b.key, values));
    expect(other.headers.get('x-cache')).toBe('MISS');
    await other.text();
  });

  it('coalesces identical concurrent misses into one origin call', async () => {
    const { key } = await tenantKey('coalesce-co');
    // Warm the key (its first use reads Postgres) so the six below reach the cache together.
    await (await call('/v2/models/m/infer', infer(key, [1, 2, 3]))).text();
    // A slow origin keeps the first miss in flight while the others arrive.
    origin.setInferDelay(400);
    try {
      const before = origin.inferCalls();
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => call('/v2/models/m/infer', infer(key, [42, 43, 44]))),
      );
      for (const res of answers) {
        expect(res.status).toBe(200);
        await res.text();
      }
      expect(origin.inferCalls() - before).toBe(1);
    } finally {
      origin.setInferDelay(0);
    }
  });

  it('answers coalesced followers when the client of the request they joined goes away', async () => {
    const { key } = await tenantKey('leaver-co');
    await (await call('/v2/models/m/infer', infer(key, [1, 2, 3]))).text();
    origin.setInferDelay(800);
    const outputBefore = edgeOutput.length;
    const callsBefore = origin.inferCalls();
    try {
      const gone = new AbortController();
      const leader = call('/v2/models/m/infer', { ...infer(key, [9, 8, 7]), signal: gone.signal }).catch(
        (err: unknown) => err,
      );
      await new Promise((r) => setTimeout(r, 150));
      const followers = Promise.all(
        Array.from({ length: 3 }, () => call('/v2/models/m/infer', infer(key, [9, 8, 7]))),
      );
      await new Promise((r) => setTimeout(r, 150));
      gone.abort();
      await leader;
      const started = Date.now();
      const answers = await followers;
      for (const res of answers) {
        expect(res.status, await res.clone().text()).toBe(200);
        await res.text();
      }
      expect(Date.now() - started).toBeLessThan(5_000);
      // One shared call, or one more if the followers had to retry on their own: never one each.
      expect(origin.inferCalls() - callsBefore).toBeLessThanOrEqual(2);
    } finally {
      origin.setInferDelay(0);
    }
    expect(edgeOutput.slice(outputBefore).join('\n')).not.toMatch(/hung|canceled this request/);
  }, 30_000);

  it('stops a revoked key at once on this edge', async () => {
    const created = await tenantKey('revoke-co');
    const ok = await call('/v2/models/m/infer', infer(created.key, [3]));
    expect(ok.status).toBe(200);
    await ok.text();
    const revoke = await call(`/admin/v1/tenants/revoke-co/keys/${created.record.prefix}/revoke`, {
      method: 'POST',
      headers: operator,
    });
    expect(revoke.status).toBe(200);
    await revoke.text();
    const after = await call('/v2/models/m/infer', infer(created.key, [3]));
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: string }).error).toContain('revoked');
  });

  it('limits a tenant past its burst with 429, Retry-After and a JSON body', async () => {
    const { key } = await tenantKey('tiny-co', {}, { requestsPerMinute: 1, burst: 2 });
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await call('/v2/models/m/infer', infer(key, [i, 100]));
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.text();
    }
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(limited, `statuses ${statuses.join(',')}`).toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited!.json()).toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('answers malformed bodies and headers with 4xx JSON, never 5xx', async () => {
    const { key } = await tenantKey('malformed-co');
    const auth = { authorization: `Bearer ${key}` };
    const cases: RequestInit[] = [
      { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"inputs": [' },
      { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"inputs": 5}' },
      { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'hello' },
      {
        ...infer(key, [1]),
        headers: { ...auth, 'content-type': 'application/json', 'x-request-timeout-ms': 'soon' },
      },
      {
        method: 'POST',
        headers: {
          ...auth,
          'content-type': 'application/octet-stream',
          'inference-header-content-length': '999',
        },
        body: '{}',
      },
    ];
    for (const init of cases) {
      const res = await call('/v2/models/m/infer', init);
      expect(res.status, `${JSON.stringify(init.headers)} ${String(init.body)}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(((await res.json()) as { error?: string }).error).toBeTruthy();
    }
  });

  it('answers 300 seeded random requests over every route below 500 with JSON errors', async () => {
    const { key } = await tenantKey(
      'fuzz-co',
      {},
      { plan: 'enterprise', requestsPerMinute: 100_000, burst: 100_000 },
    );
    const target = await call('/admin/v1/tenants/fuzz-co/keys', {
      method: 'POST',
      headers: operator,
      body: '{}',
    });
    expect(target.status).toBe(201);
    const { record } = (await target.json()) as { record: { prefix: string } };
    const keys = { tenant: key, revoked: key, prefix: record.prefix, operator: operator.authorization };
    const r = rng(Number(process.env.FUZZ_SEED ?? 20261129));
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const sent = randomEdgeRequest(r, keys, { validCredentialsOnly: true });
      if (fetchRefuses(sent, { overHttp: true })) continue;
      const res = await call(sent.path, {
        method: sent.method,
        headers: sent.headers,
        body: sent.body as BodyInit | undefined,
      });
      const status = await checkEdgeAnswer(res, sent, `request ${i}: ${describeSent(sent)}`);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    for (const status of [200, 400, 404])
      expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    expect((await call('/v2/models/m/infer', infer(key, [3]))).status).toBe(200);
  }, 120_000);

  it('never leaves a request waiting on another request’s I/O (workerd would cancel it as hung)', async () => {
    // Quick sequential answers are where cross-request batching of usage events used to leave one waiting.
    const { key } = await tenantKey('quick-co');
    for (let i = 0; i < 10; i++) {
      const res = await call('/v2/models/m/infer', { ...infer(key, [1]), body: '{"inputs": 5}' });
      expect(res.status).toBe(400);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(edgeOutput.join('\n')).not.toMatch(/hung|canceled this request/);
  });

  it('exports each request’s spans over OTLP/HTTP: one trace, the caller’s span its parent, the origin attempt inside', async () => {
    const { key } = await tenantKey('traced-co');
    const hex = (n: number) => randomBytes(n).toString('hex');
    const traceId = hex(16);
    const caller = hex(8);
    const res = await call(
      '/v2/models/m/infer',
      infer(key, [9, 9], { traceparent: `00-${traceId}-${caller}-01` }),
    );
    expect(res.status).toBe(200);
    await res.text();
    const mine = (spans: ReceivedSpan[]) => spans.filter((s) => s.traceId === traceId);
    const spans = mine(await collector.waitFor((all) => mine(all).length >= 5));
    const names = spans.map((s) => s.name).sort();
    expect(names).toEqual([
      'POST /v2/models/:model/infer',
      'auth',
      'cache lookup',
      'origin attempt',
      'rate limit',
    ]);
    const request = spans.find((s) => s.name.startsWith('POST'))!;
    expect(request.service).toBe('aiserve-edge');
    expect(request.parentSpanId).toBe(caller);
    expect(spans.filter((s) => s !== request).every((s) => s.parentSpanId === request.spanId)).toBe(true);
    expect(spans.find((s) => s.name === 'origin attempt')!.attributes).toMatchObject({
      'aiserve.origin.id': 'stub',
      'aiserve.attempt.outcome': 'response',
      'http.response.status_code': 200,
    });
    expect(res.headers.get('traceparent')).toBe(`00-${traceId}-${request.spanId}-01`);
    // One export per request, JSON, with the configured headers.
    const exports = collector.requests.filter((r) => r.path === '/v1/traces');
    expect(exports.length).toBeGreaterThan(0);
    expect(exports.every((r) => r.headers['x-collector-key'] === COLLECTOR_KEY)).toBe(true);
    expect(exports.every((r) => String(r.headers['content-type']).startsWith('application/json'))).toBe(true);
  });

  // Last: it empties the client address's bucket for failed authentication (the default 60 in a burst).
  it('limits failed authentication per client address, with the headers on each 401, while a held key still works', async () => {
    const { key } = await tenantKey('neighbour-co');
    expect((await call('/v2/models/m/infer', infer(key, [7]))).status).toBe(200);
    const guess = () => `ais_live_${randomBytes(6).toString('hex')}_${'y'.repeat(40)}`;
    const first = await call('/v2/models/m/infer', infer(guess(), [1]));
    expect(first.status).toBe(401);
    expect(first.headers.get('ratelimit-limit')).toBe('60');
    let refused: Response | null = null;
    for (let i = 0; i < 70 && !refused; i++) {
      const res = await call('/v2/models/m/infer', infer(guess(), [1]));
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(401);
    }
    expect(refused, 'no 429 within 70 failed attempts').not.toBeNull();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused!.json()).toMatchObject({ code: 'RATE_LIMITED' });
    expect((await call('/v2/models/m/infer', infer(key, [7]))).status).toBe(200);
  });
});

import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../../../drizzle/client/client.ts';
import { migrateDatabase } from '../../../../drizzle/migrate.ts';
import { ioredisUsageStream } from '../../../../drizzle/pipeline/stream-ioredis.ts';
import { UsageDrain } from '../../../../drizzle/pipeline/usage-drain.ts';
import { type StubOrigin, startStubOrigin } from '../../../../fixtures/stub-origin.ts';
import { createTempDatabase, type TempDatabase } from '../../../../fixtures/temp-database.ts';
import { loadDataConfig } from '../../../../shared/config/data.ts';
import {
  USAGE_CONSUMER_GROUP,
  USAGE_DEAD_LETTER_STREAM,
  USAGE_STREAM,
} from '../../../../shared/redis-keys.ts';
import { createNodePlatform } from '../../../../workers/adapters/node.ts';
import { type BuiltEdge, buildEdge } from '../../../../workers/build.ts';
import { readEdgeSettings } from '../../../../workers/config.ts';
import {
  expectValidHistogram,
  type PromFamily,
  parsePrometheusText,
  sumOf,
} from '../../../support/prometheus-text.ts';
import { REDIS_TEST_URL } from '../../../support/test-database.ts';
import { type BridgedRedis, startBridgedRedis } from '../../bridged-redis.ts';

/**
 * Its own logical Redis database: the edges write the real usage stream (`aiserve:usage`) and the drain reads
 * it, as deployed; no other suite may see these events or drain them.
 */
const DB = 11;
const OPERATOR_TOKEN = 'operator-token-for-metrics-0123456789';
/** What Prometheus 2.x sends when it scrapes. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

interface Isolate {
  edge: BuiltEdge;
  settle(): Promise<void>;
  request(path: string, init?: RequestInit): Promise<Response>;
}

let temp: TempDatabase;
let db: DatabaseHandle;
let bridged: BridgedRedis;
let redis: Redis;
let origin: StubOrigin;
const isolates: Isolate[] = [];

async function clearRedis(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [cursor, keys] = await bridged.redis.scan(0, { match: 'aiserve:*', count: 1000 });
    if (keys.length > 0) await bridged.redis.del(...keys);
    if (String(cursor) === '0' && keys.length === 0) break;
  }
}

/** One more edge isolate: its own services, caches and counters; the same Postgres, Redis and origin. */
async function startIsolate(): Promise<Isolate> {
  const node = createNodePlatform();
  const edge = await buildEdge(
    readEdgeSettings({
      LOG_LEVEL: 'silent',
      ENVIRONMENT: 'test',
      ADMIN_TOKEN: OPERATOR_TOKEN,
      STATIC_ORIGINS: `stub=${origin.url}`,
      DATABASE_URL: temp.url,
      DATABASE_DRIVER: 'pg',
      DATABASE_POOL_MAX: '2',
      UPSTASH_REDIS_REST_URL: bridged.bridge.url,
      UPSTASH_REDIS_REST_TOKEN: bridged.bridge.token,
    }),
    { perUseDatabase: false, platform: () => node.platform },
  );
  const isolate = {
    edge,
    settle: node.settle,
    request: async (path: string, init?: RequestInit) => edge.app.request(path, init),
  };
  isolates.push(isolate);
  return isolate;
}

/** A drain process: a restarted one (same consumer name) first re-reads the entries it had not acked. */
function drain(hooks?: ConstructorParameters<typeof UsageDrain>[0]['hooks']): UsageDrain {
  return new UsageDrain({
    redis: ioredisUsageStream(redis),
    db: db.primary,
    stream: USAGE_STREAM,
    deadLetterStream: USAGE_DEAD_LETTER_STREAM,
    group: USAGE_CONSUMER_GROUP,
    consumer: 'metrics-test',
    batchSize: 500,
    blockMs: 0,
    claimIdleMs: 60_000,
    claimIntervalMs: 60_000,
    backoffMinMs: 10,
    backoffMaxMs: 100,
    deadLetterMaxLen: 100,
    logger: pino({ level: 'silent' }),
    hooks,
  });
}

const operator = (extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${OPERATOR_TOKEN}`,
  'content-type': 'application/json',
  ...extra,
});

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely shaped JSON answers field by field
async function json(res: Response): Promise<Record<string, any>> {
  return res.json();
}

async function tenantWithKey(
  on: Isolate,
  name: string,
  body: Record<string, unknown> = {},
): Promise<{ id: string; key: string }> {
  const tenant = await on.request('/admin/v1/tenants', {
    method: 'POST',
    headers: operator(),
    body: JSON.stringify({ name, ...body }),
  });
  expect(tenant.status).toBe(201);
  const { id } = await json(tenant);
  const key = await on.request(`/admin/v1/tenants/${id}/keys`, {
    method: 'POST',
    headers: operator(),
    body: JSON.stringify({ scopes: ['admin', '*'] }),
  });
  expect(key.status).toBe(201);
  return { id, key: (await json(key)).key };
}

function infer(key: string, values = [0.5, 0.5], ip = '198.51.100.1'): RequestInit {
  return {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'cf-connecting-ip': ip },
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: values }] }),
  };
}

async function scrape(
  on: Isolate,
  headers: Record<string, string> = operator({ accept: PROMETHEUS_ACCEPT }),
) {
  const res = await on.request('/admin/v1/metrics', { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await res.text());
}

async function settleAll(): Promise<void> {
  for (const i of isolates) await i.settle();
}

beforeAll(async () => {
  temp = await createTempDatabase();
  db = await createDatabase(loadDataConfig({ DATABASE_URL: temp.url, DATABASE_DRIVER: 'pg' }));
  await migrateDatabase(db.primary);
  bridged = await startBridgedRedis({ namespace: 'metrics', db: DB });
  await clearRedis();
  const url = new URL(REDIS_TEST_URL);
  url.pathname = `/${DB}`;
  redis = new Redis(url.toString());
  origin = await startStubOrigin();
  // Every origin call takes at least this long, so the origin histogram has something to show.
  origin.setInferDelay(30);
});

afterAll(async () => {
  await settleAll();
  for (const i of isolates) await i.edge.database?.close();
  await origin?.close();
  await clearRedis();
  redis?.disconnect();
  await bridged?.close();
  await db?.close();
  await temp?.drop();
});

function family(families: Map<string, PromFamily>, name: string): PromFamily {
  const f = families.get(name);
  expect(f, name).toBeDefined();
  return f!;
}

describe('GET /admin/v1/metrics: the edge as a whole, from the usage rollups', () => {
  let a: Isolate;
  let b: Isolate;
  let acme: { id: string; key: string };
  let globex: { id: string; key: string };

  beforeAll(async () => {
    a = await startIsolate();
    b = await startIsolate();
    acme = await tenantWithKey(a, 'acme');
    // A limit of one request per minute: its second request is refused with 429.
    globex = await tenantWithKey(a, 'globex', { requestsPerMinute: 1, burst: 1 });
  });

  it('sums the requests of two isolates, with tenant-less auth failures, 429s and both histograms', async () => {
    // Isolate A: three acme requests (one origin call, then cache hits) and one bad key.
    for (let i = 0; i < 3; i += 1)
      expect((await a.request('/v2/models/m/infer', infer(acme.key))).status).toBe(200);
    expect(
      (await a.request('/v2/models/m/infer', infer('ais_live_nope', [1, 1], '198.51.100.7'))).status,
    ).toBe(401);
    // Isolate B: two acme requests with other inputs (origin calls), globex twice (the second one 429), a bad key.
    expect((await b.request('/v2/models/m/infer', infer(acme.key, [1, 2]))).status).toBe(200);
    expect((await b.request('/v2/models/m/infer', infer(acme.key, [2, 1]))).status).toBe(200);
    expect((await b.request('/v2/models/n/infer', infer(globex.key, [3, 3]))).status).toBe(200);
    expect((await b.request('/v2/models/n/infer', infer(globex.key, [4, 4]))).status).toBe(429);
    expect(
      (await b.request('/v2/models/n/infer', infer('ais_live_nope', [1, 1], '198.51.100.8'))).status,
    ).toBe(401);
    await settleAll();

    // Before the drain, nothing is counted yet; each isolate's own JSON counters know only its own requests.
    const before = await scrape(a);
    expect(sumOf(before.get('aiserve_edge_requests_total'))).toBe(0);
    const own = await json(await a.request('/admin/v1/metrics', { headers: operator() }));
    expect(own.counters.edge_usage_events_total).toBe(4);

    const round = await drain().runOnce();
    expect(round).toMatchObject({ written: 9, deadLettered: 0 });

    for (const isolate of [a, b]) {
      const m = await scrape(isolate);
      const requests = family(m, 'aiserve_edge_requests_total');
      expect(requests.type).toBe('counter');
      expect(sumOf(requests, { tenant: acme.id })).toBe(5);
      expect(sumOf(requests, { tenant: acme.id, model: 'm', status_class: '2xx' })).toBe(5);
      expect(sumOf(requests, { tenant: globex.id, status_class: '4xx' })).toBe(1);
      expect(sumOf(requests, { tenant: '' })).toBe(2);
      expect(sumOf(requests)).toBe(9);
      // Three origin calls for acme (A's first, B's two), the rest answered by A's edge cache.
      expect(sumOf(requests, { tenant: acme.id, cache: 'MISS' })).toBe(3);
      expect(sumOf(requests, { tenant: acme.id, cache: 'HIT-EDGE' })).toBe(2);
      expect(sumOf(family(m, 'aiserve_edge_items_total'), { tenant: acme.id, model: 'm' })).toBe(5);
      expect(sumOf(family(m, 'aiserve_edge_rate_limited_total'))).toBe(1);
      expect(sumOf(family(m, 'aiserve_edge_rate_limited_total'), { tenant: globex.id, model: 'n' })).toBe(1);
      expect(sumOf(family(m, 'aiserve_edge_auth_failures_total'), { tenant: '' })).toBe(2);

      const edgeTime = family(m, 'aiserve_edge_request_duration_seconds');
      const series = expectValidHistogram(edgeTime);
      // One histogram series per tenant and model; its count is that pair's requests.
      for (const s of series) expect(s.count).toBe(sumOf(requests, s.labels));
      expect(series.reduce((n, s) => n + s.count, 0)).toBe(9);
      const originTime = family(m, 'aiserve_edge_origin_duration_seconds');
      expectValidHistogram(originTime);
      expect(sumOf(originTime, { tenant: acme.id }, 'aiserve_edge_origin_duration_seconds_count')).toBe(3);
      // The stub origin takes 30 ms per call: none of them fits the 25 ms bucket, all fit 10 s.
      const bucket = (le: string) =>
        sumOf(originTime, { tenant: acme.id, le }, 'aiserve_edge_origin_duration_seconds_bucket');
      expect(bucket('0.025')).toBe(0);
      expect(bucket('10')).toBe(3);
      expect(
        sumOf(originTime, { tenant: acme.id }, 'aiserve_edge_origin_duration_seconds_sum'),
      ).toBeGreaterThanOrEqual(0.09);
      const newest = family(m, 'aiserve_edge_usage_newest_event_timestamp_seconds');
      expect(newest.type).toBe('gauge');
      expect(Math.abs(sumOf(newest) - Date.now() / 1000)).toBeLessThan(120);
    }
  });

  it('counts a batch the drain redelivers after a crash once', async () => {
    const before = sumOf((await scrape(a)).get('aiserve_edge_requests_total'), { tenant: acme.id });
    expect((await b.request('/v2/models/m/infer', infer(acme.key, [7, 7]))).status).toBe(200);
    expect((await a.request('/v2/models/m/infer', infer(acme.key, [8, 8]))).status).toBe(200);
    await settleAll();
    // Committed, then the process dies before XACK: the entries stay pending.
    const crashing = drain({
      afterCommit: () => {
        throw new Error('killed before XACK');
      },
    });
    await expect(crashing.runOnce()).rejects.toThrow('killed before XACK');
    expect(sumOf((await scrape(b)).get('aiserve_edge_requests_total'), { tenant: acme.id })).toBe(before + 2);
    // The restarted drain re-reads them first: stored already, so neither usage_events nor the rollups grow.
    const again = await drain().runOnce();
    expect(again).toMatchObject({ entries: 2, written: 0, duplicates: 2 });
    const m = await scrape(a);
    expect(sumOf(m.get('aiserve_edge_requests_total'), { tenant: acme.id })).toBe(before + 2);
    expectValidHistogram(family(m, 'aiserve_edge_request_duration_seconds'));
  });

  it("shows a tenant's admin key its own tenant only, and the per-isolate JSON to the operator only", async () => {
    const mine = await scrape(a, {
      authorization: `Bearer ${acme.key}`,
      accept: 'text/plain',
    });
    const requests = family(mine, 'aiserve_edge_requests_total');
    expect(requests.samples.length).toBeGreaterThan(0);
    expect(new Set(requests.samples.map((s) => s.labels.tenant))).toEqual(new Set([acme.id]));
    for (const f of mine.values()) {
      for (const s of f.samples) if ('tenant' in s.labels) expect(s.labels.tenant).toBe(acme.id);
    }
    expectValidHistogram(family(mine, 'aiserve_edge_request_duration_seconds'));
    // The same with the query parameter instead of Accept (a scrape config's `params`), and no globex series.
    const viaQuery = await a.request('/admin/v1/metrics?format=prometheus', {
      headers: { authorization: `Bearer ${acme.key}` },
    });
    expect(viaQuery.status).toBe(200);
    const text = await viaQuery.text();
    expect(parsePrometheusText(text).get('aiserve_edge_requests_total')?.samples).toEqual(requests.samples);
    expect(text).not.toContain(globex.id);
    const jsonForTenant = await a.request('/admin/v1/metrics', {
      headers: { authorization: `Bearer ${acme.key}` },
    });
    expect(jsonForTenant.status).toBe(403);
    const forOperator = await a.request('/admin/v1/metrics?format=json', {
      headers: operator({ accept: 'text/plain' }),
    });
    expect(forOperator.status).toBe(200);
    expect((await json(forOperator)).counters).toBeTypeOf('object');
  });
});

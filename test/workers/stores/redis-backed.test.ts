import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  authCacheKey,
  RATE_LIMIT_PREFIX,
  RESPONSE_CACHE_PREFIX,
  USAGE_STREAM,
} from '../../../shared/redis-keys.ts';
import { usageEventSchema } from '../../../shared/usage/event.ts';
import type { Services } from '../../../workers/services.ts';
import { createUpstashRateLimiter } from '../../../workers/stores/limits/upstash-rate-limiter.ts';
import { bearer, inferBody, MemoryData, makeKey, testEdge } from '../edge-fixture.ts';
import { type RedisFixture, startRedisFixture } from '../redis-fixture.ts';
import { routedEdge } from '../routes/routed-edge.ts';
import { startFakeOrigin } from '../routing/fake-origins.ts';

let r: RedisFixture;
const prefixes: string[] = [];
const streamIds: string[] = [];
/** Edges of the running test: their background work (usage XADDs) must end before the next test counts. */
const edges: Array<{ settle(): Promise<void> }> = [];

beforeAll(async () => {
  r = await startRedisFixture();
});
afterEach(async () => {
  await Promise.all(edges.splice(0).map((e) => e.settle()));
});
afterAll(async () => {
  if (streamIds.length > 0) await r.admin.xdel(USAGE_STREAM, ...streamIds);
  await r?.close([
    ...prefixes.map((p) => authCacheKey(p)),
    `${RATE_LIMIT_PREFIX}:*`,
    `${RESPONSE_CACHE_PREFIX}*`,
  ]);
});

const post = (key: string, batch = 1, extra: Record<string, string> = {}) => ({
  method: 'POST',
  headers: bearer(key, extra),
  body: inferBody(batch),
});

/** A fresh key, stored in an in-memory data layer, its Redis entry cleaned up after the file. */
async function storedKey() {
  const k = await makeKey();
  prefixes.push(k.record.prefix);
  const data = new MemoryData();
  data.records.set(k.record.prefix, k.record);
  return { k, data };
}

async function redisEdge(data: MemoryData, services: Partial<Services> = {}) {
  const redis = r.client();
  // Real clock: the Upstash limiter computes refills from Date.now on the Redis side of the script.
  const edge = await testEdge({ data, env: { LOG_LEVEL: 'silent', ...r.env }, redis, services });
  edges.push(edge);
  return { ...edge, redis };
}

describe('edge stores on Redis (real Redis through the Upstash bridge)', () => {
  it('limits with @upstash/ratelimit: cost per item, 429 when the shared bucket is empty', async () => {
    const limiter = createUpstashRateLimiter({ redis: r.client(), timeoutMs: 5000 });
    const identifier = `key:${crypto.randomUUID()}`;
    const first = await limiter.limit({ identifier, perMinute: 60, burst: 5, cost: 3 });
    expect(first).toMatchObject({ success: true, limit: 5, remaining: 2, source: 'redis' });
    const second = await limiter.limit({ identifier, perMinute: 60, burst: 5, cost: 3 });
    expect(second.success).toBe(false);
    expect(second.reset).toBeGreaterThan(Date.now() - 1000);
  });

  it('shares one bucket across isolates (two limiter instances, one Redis)', async () => {
    const identifier = `key:${crypto.randomUUID()}`;
    const a = createUpstashRateLimiter({ redis: r.client(), timeoutMs: 5000 });
    const b = createUpstashRateLimiter({ redis: r.client(), timeoutMs: 5000 });
    expect((await a.limit({ identifier, perMinute: 60, burst: 2, cost: 1 })).success).toBe(true);
    expect((await b.limit({ identifier, perMinute: 60, burst: 2, cost: 1 })).success).toBe(true);
    expect((await a.limit({ identifier, perMinute: 60, burst: 2, cost: 1 })).success).toBe(false);
  });

  it('finds a key in Redis from a cold isolate without asking Postgres, and forgets it on invalidate', async () => {
    const { k, data } = await storedKey();
    const first = await redisEdge(data);
    expect((await first.app.request('/v2/models/m/infer', post(k.key))).status).toBe(200);
    expect(data.lookups).toEqual([k.record.prefix]);
    expect(await r.admin.exists(authCacheKey(k.record.prefix))).toBe(1);
    expect(await r.admin.ttl(authCacheKey(k.record.prefix))).toBeGreaterThan(50);
    const second = await redisEdge(data);
    expect((await second.app.request('/v2/models/m/infer', post(k.key))).status).toBe(200);
    expect(data.lookups).toEqual([k.record.prefix]);
    await first.services.keys.invalidate(k.record.prefix);
    expect(await r.admin.exists(authCacheKey(k.record.prefix))).toBe(0);
  });

  it('serves a known key from its stale Redis copy in a cold isolate while Postgres is down, until revoked', async () => {
    const { k, data } = await storedKey();
    const first = await redisEdge(data);
    expect((await first.app.request('/v2/models/m/infer', post(k.key))).status).toBe(200);
    // Past the entry's freshness (AUTH_REDIS_TTL_SECONDS) with Postgres down, in an isolate that never saw it.
    data.failLookups = true;
    const cold = await redisEdge(data);
    cold.clock.now += 120_000;
    expect((await cold.app.request('/v2/models/m/infer', post(k.key))).status).toBe(200);
    expect(cold.services.metrics.snapshot().edge_auth_stale_served_total).toBe(1);
    // A revocation deletes the entry, stale copy included: another cold isolate now has nothing to serve.
    await first.services.keys.invalidate(k.record.prefix);
    const after = await redisEdge(data);
    after.clock.now += 120_000;
    expect((await after.app.request('/v2/models/m/infer', post(k.key))).status).toBe(503);
  });

  it('makes exactly one Redis round trip per request for a warm key: limiter and cache lookup pipelined', async () => {
    const { k } = await storedKey();
    const origin = await startFakeOrigin('a');
    try {
      // The real response cache with only its Redis tier, so the second request's hit is a GETEX (the read
      // `@upstash/redis` auto-pipelining files with the limiter's EVALSHA) and not an in-isolate hit.
      const edge = await routedEdge({
        origins: [`a=${origin.url}`],
        redis: r.client(),
        keys: [k],
        env: { RESPONSE_CACHE_MEMORY_BYTES: '0' },
      });
      edges.push(edge);
      // Warm the key (memory), the model's settings, the cached answer and the limiter's Lua script (EVALSHA
      // without a NOSCRIPT fallback).
      expect((await edge.app.request('/v2/models/m/infer', post(k.key))).status).toBe(200);
      await edge.settle();
      // The usage event's XADD waits USAGE_STREAM_BATCH_MS in the background: after the response, not in it.
      const before = r.bridge.requests();
      const res = await edge.app.request('/v2/models/m/infer', post(k.key));
      expect(res.status).toBe(200);
      expect(r.bridge.requests() - before).toBe(1);
    } finally {
      await origin.close();
    }
  });

  it('appends one usage event per request to the aiserve:usage stream', async () => {
    const { k, data } = await storedKey();
    const edge = await redisEdge(data);
    const requestId = `usage-${crypto.randomUUID()}`;
    await edge.app.request('/v2/models/ocr-cls/infer', post(k.key, 2, { 'x-request-id': requestId }));
    await edge.settle();
    const entries = await r.admin.xrevrange(USAGE_STREAM, '+', '-', 'COUNT', 50);
    const mine = entries.filter(([, fields]) => fields[3]?.includes(requestId));
    expect(mine).toHaveLength(1);
    const [id, fields] = mine[0]!;
    streamIds.push(id);
    expect(fields[0]).toBe('id');
    const event = usageEventSchema.parse(JSON.parse(fields[3]!));
    expect(event).toMatchObject({
      tenantId: k.record.tenantId,
      model: 'ocr-cls',
      items: 2,
      status: 200,
      requestId,
    });
    expect(fields[1]).toBe(event.id);
    expect(data.usage).toHaveLength(0);
  });

  it('fails open when Redis is unreachable: requests pass on the isolate limiter and the failure is counted', async () => {
    const k = await makeKey({ tenant: { burst: 2 } });
    const data = new MemoryData();
    data.records.set(k.record.prefix, k.record);
    const { app, services } = await testEdge({
      data,
      env: {
        UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9',
        UPSTASH_REDIS_REST_TOKEN: 'x',
        REDIS_TIMEOUT_MS: '500',
      },
    });
    expect((await app.request('/v2/models/m/infer', post(k.key))).status).toBe(200);
    expect((await app.request('/v2/models/m/infer', post(k.key))).status).toBe(200);
    expect((await app.request('/v2/models/m/infer', post(k.key))).status).toBe(429);
    expect(services.metrics.snapshot().edge_rate_limit_fail_open_total).toBe(3);
  });
});

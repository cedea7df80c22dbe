import { Redis } from '@upstash/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deregisterOrigin, registerOrigin } from '../../../shared/fleet/registry.ts';
import { type BridgedRedis, startBridgedRedis } from '../bridged-redis.ts';
import { type FakeOrigin, startFakeOrigin } from '../routing/fake-origins.ts';
import { origin } from '../routing/fleet-fixtures.ts';
import { inferJson, type RoutedEdge, routedEdge } from './routed-edge.ts';

/** Its own logical database: these tests write the real key names (`aiserve:cache:*`, limiter, usage). */
const DB = 14;

let bridged: BridgedRedis;
beforeAll(async () => {
  bridged = await startBridgedRedis({ namespace: 'infer-redis', db: DB, autoPipelining: true });
});
afterAll(async () => {
  for (let i = 0; i < 100; i++) {
    const [cursor, keys] = await bridged.redis.scan(0, { match: 'aiserve:*', count: 1000 });
    if (keys.length > 0) await bridged.redis.del(...keys);
    if (String(cursor) === '0' && keys.length === 0) break;
  }
  await bridged.close();
});

const started: FakeOrigin[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((o) => o.close()));
});

async function fake(id: string): Promise<FakeOrigin> {
  const o = await startFakeOrigin(id);
  started.push(o);
  return o;
}

async function infer(edge: RoutedEdge, body: string, init: Parameters<RoutedEdge['call']>[1] = {}) {
  const res = await edge.call('/v2/models/m/infer', { body, ...init });
  const json = (await res.json()) as Record<string, unknown>;
  await edge.settle();
  return { res, json };
}

function uniqueValues(): number[] {
  return [Math.random(), Math.random()];
}

describe('infer with the Redis tier (real @upstash/redis → bridge → Redis)', () => {
  it('a second isolate gets HIT-REDIS, back-fills its edge tier, then HIT-EDGE', async () => {
    const a = await fake('a');
    const one = await routedEdge({ origins: [`a=${a.url}`], redis: bridged.redis });
    const values = uniqueValues();
    expect((await infer(one, inferJson(values))).res.headers.get('x-cache')).toBe('MISS');
    // Another isolate: same Redis, empty memory; same tenant (keys are per edge, so reuse the first's key).
    const two = await routedEdge({ origins: [`a=${a.url}`], redis: bridged.redis, keys: one.keys });
    const hit = await infer(two, inferJson(values));
    expect(hit.res.status, JSON.stringify(hit.json)).toBe(200);
    expect(hit.res.headers.get('x-cache')).toBe('HIT-REDIS');
    expect(hit.json.served).toBe(1);
    const again = await infer(two, inferJson(values));
    expect(again.res.headers.get('x-cache')).toBe('HIT-EDGE');
    expect(a.seen.length).toBe(1);
  });
});

describe('Redis round trips on the hot path', () => {
  it('a cache hit costs one Redis round trip for the rate limit and the cache lookup together', async () => {
    const a = await fake('a');
    const one = await routedEdge({ origins: [`a=${a.url}`], redis: bridged.redis });
    const values = uniqueValues();
    await infer(one, inferJson(values));
    const two = await routedEdge({ origins: [`a=${a.url}`], redis: bridged.redis, keys: one.keys });
    // Warm the second isolate's key cache and model settings with another request.
    await infer(two, inferJson(uniqueValues()));
    const before = bridged.bridge.requests();
    const res = await two.call('/v2/models/m/infer', { body: inferJson(values) });
    expect(res.headers.get('x-cache')).toBe('HIT-REDIS');
    await res.arrayBuffer();
    await two.settle();
    // One pipelined request carries the limiter's EVALSHA and the cache's GETEX; the other is the usage
    // event, written after the response. A separate cache read would make it three.
    expect(bridged.bridge.requests() - before).toBe(2);
  });
});

describe('Redis failures and the fleet registry', () => {
  it('keeps answering while Redis is unreachable: origin on a miss, the isolate tier after', async () => {
    const a = await fake('a');
    const dead = new Redis({
      url: 'http://127.0.0.1:9',
      token: 'x',
      retry: false,
      enableAutoPipelining: true,
    });
    const edge = await routedEdge({ origins: [`a=${a.url}`], redis: dead });
    const first = await infer(edge, inferJson([42]));
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get('x-cache')).toBe('MISS');
    expect(first.json.origin).toBe('a');
    const second = await infer(edge, inferJson([42]));
    expect(second.res.status).toBe(200);
    expect(second.res.headers.get('x-cache')).toBe('HIT-EDGE');
    expect(a.seen.length).toBe(1);
  });

  it('routes to origins registered in Redis and stops once they deregister', async () => {
    const a = await fake('registry-a');
    const id = `reg-${Math.random().toString(36).slice(2)}`;
    await registerOrigin(
      bridged.redis,
      origin(id, { url: a.url, models: [{ name: 'm', versions: ['1'] }] }),
      {
        ttlMs: 60_000,
        nowMs: Date.now(),
      },
    );
    try {
      const edge = await routedEdge({ origins: [], redis: bridged.redis });
      const ok = await infer(edge, inferJson(uniqueValues()));
      expect(ok.res.status).toBe(200);
      expect(ok.json.origin).toBe('registry-a');
      // A model the registered origin does not serve has no healthy origin.
      const other = await edge.call('/v2/models/other/infer', { body: inferJson([1]) });
      expect(other.status).toBe(503);
      await deregisterOrigin(bridged.redis, id);
      edge.clock.now += 2_000; // past the isolate's registry cache
      const gone = await infer(edge, inferJson(uniqueValues()));
      expect(gone.res.status).toBe(503);
      expect(gone.json.code).toBe('NO_HEALTHY_ORIGIN');
    } finally {
      await deregisterOrigin(bridged.redis, id);
    }
  });
});

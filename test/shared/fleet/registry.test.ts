import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashBridge } from '../../../scripts/dev/upstash-bridge.ts';
import {
  deregisterOrigin,
  heartbeatOrigin,
  listLiveOrigins,
  readFleet,
  registerOrigin,
} from '../../../shared/fleet/registry.ts';
import { ORIGINS_INDEX_KEY, ORIGINS_INDEX_SENTINEL, originKey } from '../../../shared/redis-keys.ts';
import { hasRedisServer, startPrivateRedis } from '../../support/private-redis.ts';
import { type RegistryFixture, sampleRecord, startRegistryFixture } from './registry-fixture.ts';

let fx: RegistryFixture;
beforeAll(async () => {
  fx = await startRegistryFixture();
});
afterAll(async () => {
  await fx?.close();
});

async function listed(id: string) {
  return (await listLiveOrigins(fx.redis, Date.now())).find((o) => o.id === id);
}

/** Polls (bounded) until the origin is no longer listed; returns how many polls it took, or -1. */
async function pollUntilGone(id: string, maxPolls = 100): Promise<number> {
  for (let i = 0; i < maxPolls; i++) {
    if (!(await listed(id))) return i;
    await new Promise((r) => setTimeout(r, 100));
  }
  return -1;
}

describe('fleet registry over @upstash/redis (REST bridge in front of a real Redis)', () => {
  it('lists a registered origin with every field it was registered with', async () => {
    const record = sampleRecord(fx.id('listed'));
    await registerOrigin(fx.redis, record, { ttlMs: 15_000, nowMs: Date.now() });
    expect(await listed(record.id)).toEqual(record);
    await deregisterOrigin(fx.redis, record.id);
  });

  it('writes the record with a PX expiry of the TTL and indexes it at now + TTL', async () => {
    const record = sampleRecord(fx.id('ttl'));
    const nowMs = Date.now();
    await registerOrigin(fx.redis, record, { ttlMs: 15_000, nowMs });
    const pttl = await fx.direct.pttl(originKey(record.id));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(15_000);
    expect(Number(await fx.direct.zscore(ORIGINS_INDEX_KEY, record.id))).toBe(nowMs + 15_000);
    await deregisterOrigin(fx.redis, record.id);
  });

  it('an origin that stops heartbeating disappears once its TTL passes, and its index entry is pruned', async () => {
    const record = sampleRecord(fx.id('dead'));
    await registerOrigin(fx.redis, record, { ttlMs: 300, nowMs: Date.now() });
    expect(await listed(record.id)).toBeDefined();
    expect(await pollUntilGone(record.id)).toBeGreaterThanOrEqual(0);
    // The record is gone from Redis itself, not merely filtered.
    expect(await fx.direct.exists(originKey(record.id))).toBe(0);
    await listLiveOrigins(fx.redis, Date.now() + 1000);
    expect(await fx.direct.zscore(ORIGINS_INDEX_KEY, record.id)).toBeNull();
  });

  it('a heartbeat replaces the load and extends the lifetime', async () => {
    const record = sampleRecord(fx.id('beat'));
    const t0 = Date.now();
    await registerOrigin(fx.redis, record, { ttlMs: 2_000, nowMs: t0 });
    const updated = {
      ...record,
      heartbeatAt: record.heartbeatAt + 5_000,
      load: { inflight: 9, queueDepth: { 'ocr-cls': 7 }, p50LatencyMs: 40, gpuUtilization: 0.9 },
    };
    await heartbeatOrigin(fx.redis, updated, { ttlMs: 60_000, nowMs: t0 + 5 });
    expect(await listed(record.id)).toEqual(updated);
    expect(await fx.direct.pttl(originKey(record.id))).toBeGreaterThan(2_000);
    expect(Number(await fx.direct.zscore(ORIGINS_INDEX_KEY, record.id))).toBe(t0 + 5 + 60_000);
    await deregisterOrigin(fx.redis, record.id);
  });

  it('a heartbeat after the record expired re-registers the origin', async () => {
    const record = sampleRecord(fx.id('rejoin'));
    await registerOrigin(fx.redis, record, { ttlMs: 300, nowMs: Date.now() });
    expect(await pollUntilGone(record.id)).toBeGreaterThanOrEqual(0);
    await heartbeatOrigin(fx.redis, record, { ttlMs: 15_000, nowMs: Date.now() });
    expect(await listed(record.id)).toEqual(record);
    await deregisterOrigin(fx.redis, record.id);
  });

  it('a draining origin is listed as draining, then gone from record and index after deregister', async () => {
    const record = sampleRecord(fx.id('drain'));
    await registerOrigin(fx.redis, record, { ttlMs: 15_000, nowMs: Date.now() });
    await heartbeatOrigin(fx.redis, { ...record, status: 'draining' }, { ttlMs: 15_000, nowMs: Date.now() });
    expect((await listed(record.id))?.status).toBe('draining');
    await deregisterOrigin(fx.redis, record.id);
    expect(await listed(record.id)).toBeUndefined();
    expect(await fx.direct.exists(originKey(record.id))).toBe(0);
    expect(await fx.direct.zscore(ORIGINS_INDEX_KEY, record.id)).toBeNull();
  });

  it('a record whose key expired is not listed even while its index score (writer clock ahead) is in the future', async () => {
    const record = sampleRecord(fx.id('skew'));
    // The writer's clock runs an hour ahead: the index says alive, the record's own expiry says dead.
    await registerOrigin(fx.redis, record, { ttlMs: 300, nowMs: Date.now() + 3_600_000 });
    expect(await pollUntilGone(record.id)).toBeGreaterThanOrEqual(0);
    expect(await fx.direct.zscore(ORIGINS_INDEX_KEY, record.id)).not.toBeNull();
    await deregisterOrigin(fx.redis, record.id);
  });

  it('skips a stored record that fails the schema and reports it', async () => {
    const id = fx.id('bad');
    await fx.direct.set(originKey(id), JSON.stringify({ id, url: 'not a url' }), 'PX', 15_000);
    await fx.direct.zadd(ORIGINS_INDEX_KEY, Date.now() + 15_000, id);
    const invalid: string[] = [];
    const all = await listLiveOrigins(fx.redis, Date.now(), { onInvalid: (bad) => invalid.push(bad) });
    expect(all.find((o) => o.id === id)).toBeUndefined();
    expect(invalid).toContain(id);
    await deregisterOrigin(fx.redis, id);
  });

  it('rejects a record that breaks the schema before writing anything', async () => {
    const record = sampleRecord(fx.id('invalid'), { url: 'nope' });
    await expect(registerOrigin(fx.redis, record, { ttlMs: 1000, nowMs: Date.now() })).rejects.toThrow(
      /url/i,
    );
    expect(await fx.direct.exists(originKey(record.id))).toBe(0);
  });
});

describe.skipIf(!hasRedisServer)('the registry index sentinel (a Redis of the test’s own, restarted)', () => {
  it('tells a registry whose origins left (intact) from one that lost its data (Redis restarted empty)', async () => {
    const redis = await startPrivateRedis();
    const bridge = await startUpstashBridge({ redisUrl: redis.url, token: 'sentinel-test-token' });
    try {
      const client = new Redis({ url: bridge.url, token: bridge.token, retry: false });
      // Nothing ever registered: no sentinel either.
      expect(await readFleet(client, Date.now())).toEqual({ origins: [], intact: false });
      const record = sampleRecord('sentinel-a');
      await registerOrigin(client, record, { ttlMs: 15_000, nowMs: Date.now() });
      expect(await readFleet(client, Date.now())).toEqual({ origins: [record], intact: true });
      // A far-future read prunes every origin's entry, never the sentinel.
      expect(await readFleet(client, Date.now() + 86_400_000 * 365)).toEqual({ origins: [], intact: true });
      await registerOrigin(client, record, { ttlMs: 15_000, nowMs: Date.now() });
      await deregisterOrigin(client, record.id);
      expect(await readFleet(client, Date.now())).toEqual({ origins: [], intact: true });

      await redis.stop();
      await redis.start();
      let read = await readFleet(client, Date.now()).catch(() => null);
      for (let i = 0; i < 100 && read === null; i++) {
        await new Promise((r) => setTimeout(r, 100));
        read = await readFleet(client, Date.now()).catch(() => null);
      }
      expect(read).toEqual({ origins: [], intact: false });
      // The first heartbeat after the restart writes the sentinel back.
      await heartbeatOrigin(client, record, { ttlMs: 15_000, nowMs: Date.now() });
      expect(await readFleet(client, Date.now())).toEqual({ origins: [record], intact: true });
      expect(await listLiveOrigins(client, Date.now())).toEqual([record]);
      expect(ORIGINS_INDEX_SENTINEL).not.toMatch(/^[A-Za-z0-9._:-]+$/);
    } finally {
      await bridge.close();
      await redis.close();
    }
  });
});

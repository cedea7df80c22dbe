import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors/index.ts';
import type { RegistryRedis } from '../../../shared/fleet/registry.ts';
import { deregisterOrigin, registerOrigin } from '../../../shared/fleet/registry.ts';
import { ORIGINS_INDEX_SENTINEL } from '../../../shared/redis-keys.ts';
import type { LastKnownStore } from '../../../workers/adapters/platform.ts';
import { FleetSnapshots } from '../../../workers/routing/fleet-snapshot.ts';
import {
  type FleetSourceEvent,
  parseStaticOrigins,
  RedisOriginSource,
  StaticOriginSource,
} from '../../../workers/routing/origin-source.ts';
import { type BridgedRedis, startBridgedRedis } from '../bridged-redis.ts';
import { origin } from './fleet-fixtures.ts';

describe('parseStaticOrigins', () => {
  it('reads id=url@region, bare urls and default regions', () => {
    const list = parseStaticOrigins(
      'a=http://10.0.0.1:8000@us-east, http://127.0.0.1:9000 ,b=https://o.example',
    );
    expect(list.map((o) => [o.id, o.url, o.region])).toEqual([
      ['a', 'http://10.0.0.1:8000', 'us-east'],
      ['127.0.0.1:9000', 'http://127.0.0.1:9000', 'local'],
      ['b', 'https://o.example', 'local'],
    ]);
    expect(list[0]!.models).toEqual([{ name: '*', versions: [] }]);
    expect(list[0]!.status).toBe('ready');
  });

  it('names the bad entry', () => {
    expect(() => parseStaticOrigins('a=not a url')).toThrow(/a=not a url/);
    expect(() => parseStaticOrigins('a=ftp://x')).toThrow(/http/);
    expect(() => parseStaticOrigins('a=http://x,a=http://y')).toThrow(/twice/);
  });

  it('serves the parsed list', async () => {
    const source = new StaticOriginSource(parseStaticOrigins('a=http://x'));
    expect((await source.list()).map((o) => o.id)).toEqual(['a']);
  });
});

describe('RedisOriginSource (real Redis through the Upstash bridge)', () => {
  let bridged: BridgedRedis;
  const ids: string[] = [];
  beforeAll(async () => {
    bridged = await startBridgedRedis({ namespace: 'origin-source' });
  });
  afterAll(async () => {
    for (const id of ids) await deregisterOrigin(bridged.redis, id);
    await bridged.close();
  });

  it('lists registered origins and caches the list for its cache period', async () => {
    let now = Date.now();
    const id = `${bridged.prefix.replaceAll(':', '-')}o1`;
    ids.push(id);
    await registerOrigin(bridged.redis, origin(id, { url: 'http://127.0.0.1:1' }), {
      ttlMs: 60_000,
      nowMs: now,
    });
    let reads = 0;
    const counting: RegistryRedis = {
      pipeline: () => {
        reads++;
        return bridged.redis.pipeline();
      },
      multi: () => bridged.redis.multi(),
      mget: (...args: Parameters<Redis['mget']>) => bridged.redis.mget(...args),
    } as RegistryRedis;
    const source = new RedisOriginSource({ redis: counting, cacheMs: 1_500, now: () => now });
    expect((await source.list()).some((o) => o.id === id)).toBe(true);
    await source.list();
    expect(reads).toBe(1);
    now += 1_600;
    await source.list();
    expect(reads).toBe(2);
  });

  it('after expiry only the caller that starts the refresh waits for it; others get the last list meanwhile', async () => {
    let now = Date.now();
    const prefix = bridged.prefix.replaceAll(':', '-');
    ids.push(`${prefix}o3`, `${prefix}o4`);
    await registerOrigin(bridged.redis, origin(`${prefix}o3`), { ttlMs: 60_000, nowMs: now });
    const source = new RedisOriginSource({ redis: bridged.redis, cacheMs: 1_000, now: () => now });
    expect((await source.list()).map((o) => o.id)).toContain(`${prefix}o3`);
    await registerOrigin(bridged.redis, origin(`${prefix}o4`), { ttlMs: 60_000, nowMs: now });
    now += 1_500;
    const refreshing = source.list();
    const meanwhile = source.list();
    expect((await meanwhile).map((o) => o.id)).not.toContain(`${prefix}o4`);
    expect((await refreshing).map((o) => o.id)).toContain(`${prefix}o4`);
  });

  it('keeps serving the last list while Redis is unreachable', async () => {
    const id = `${bridged.prefix.replaceAll(':', '-')}o2`;
    ids.push(id);
    let now = Date.now();
    await registerOrigin(bridged.redis, origin(id), { ttlMs: 60_000, nowMs: now });
    const other = await startBridgedRedis({ namespace: 'origin-source-dying' });
    const events: FleetSourceEvent[] = [];
    const source = new RedisOriginSource({
      redis: other.redis,
      cacheMs: 1_000,
      now: () => now,
      onEvent: (e) => events.push(e),
    });
    expect((await source.list()).some((o) => o.id === id)).toBe(true);
    await other.close();
    now += 5_000;
    expect((await source.list()).some((o) => o.id === id)).toBe(true);
    expect(events).toEqual([
      expect.objectContaining({ kind: 'read-failed', served: 'isolate', ageMs: 5_000 }),
    ]);
  });

  it('without a fleet known, serves the fallback, or fails with a 503 naming Redis', async () => {
    const dead = new Redis({ url: 'http://127.0.0.1:9', token: 'x', retry: false });
    const withFallback = new RedisOriginSource({
      redis: dead,
      fallback: parseStaticOrigins('s=http://127.0.0.1:2'),
    });
    expect((await withFallback.list()).map((o) => o.id)).toEqual(['s']);
    const without = new RedisOriginSource({ redis: dead });
    const err = await without.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('DEPENDENCY_UNAVAILABLE');
    expect((err as AppError).message).toMatch(/Redis/);
  });
});

/** A store as the adapters provide one (the Cache API, files), in memory, shared by the "isolates" of a test. */
function memoryStore(): LastKnownStore & { puts: number } {
  const entries = new Map<string, string>();
  return {
    puts: 0,
    async get(key) {
      return entries.get(key) ?? null;
    },
    async put(key, value) {
      this.puts++;
      entries.set(key, value);
    },
  };
}

/**
 * The real registry client, with Redis "down" (every read fails, as through the bridge while Redis is stopped),
 * "lost" (an empty index without its sentinel, as a Redis that restarted without its data) or "left" (the
 * sentinel alone: every origin deregistered) at the test's command.
 */
function switchable(redis: RegistryRedis) {
  const state: { mode: 'up' | 'down' | 'lost' | 'left'; reads: number } = { mode: 'up', reads: 0 };
  const index = (members: string[]) => {
    const pipeline = {
      zremrangebyscore: () => pipeline,
      zrange: () => pipeline,
      exec: async () => [0, members],
    };
    return pipeline;
  };
  const client = {
    pipeline: () => {
      state.reads++;
      if (state.mode === 'down') throw new Error('ERR Redis unavailable (test)');
      if (state.mode === 'lost') return index([]);
      if (state.mode === 'left') return index([ORIGINS_INDEX_SENTINEL]);
      return redis.pipeline();
    },
    multi: () => redis.multi(),
    mget: (...args: Parameters<Redis['mget']>) => redis.mget(...args),
  } as unknown as RegistryRedis;
  return { client, state };
}

describe('RedisOriginSource while Redis fails: the last known fleet, bounded', () => {
  let bridged: BridgedRedis;
  let prefix: string;
  const ids: string[] = [];
  beforeAll(async () => {
    bridged = await startBridgedRedis({ namespace: 'origin-source-stale' });
    prefix = bridged.prefix.replaceAll(':', '-');
  });
  afterAll(async () => {
    for (const id of ids) await deregisterOrigin(bridged.redis, id);
    await bridged.close();
  });
  const register = async (name: string, nowMs: number) => {
    ids.push(`${prefix}${name}`);
    await registerOrigin(bridged.redis, origin(`${prefix}${name}`), { ttlMs: 60_000, nowMs });
    return `${prefix}${name}`;
  };
  const idsOf = async (source: RedisOriginSource) => (await source.list()).map((o) => o.id);
  const snapshotsIn = (store: LastKnownStore) =>
    new FleetSnapshots({ store, key: 'fleet-test', writeEveryMs: 30_000, ttlSeconds: 5 });

  it('a warm isolate routes on its last fleet for at most the bound, then answers 503 naming Redis', async () => {
    let now = Date.now();
    const id = await register('w1', now);
    const { client, state } = switchable(bridged.redis);
    const events: FleetSourceEvent[] = [];
    const source = new RedisOriginSource({
      redis: client,
      cacheMs: 1_000,
      staleIfErrorMs: 5_000,
      now: () => now,
      onEvent: (e) => events.push(e),
    });
    expect(await idsOf(source)).toContain(id);
    state.mode = 'down';
    now += 4_000;
    expect(await idsOf(source)).toContain(id);
    now += 1_500;
    const err = await source.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('DEPENDENCY_UNAVAILABLE');
    expect((err as AppError).message).toMatch(/registry \(Redis\) is unreachable.*last 5 s/);
    // The refusal is reused for the cache period: Redis is asked once per period, not once per request.
    const reads = state.reads;
    for (let i = 0; i < 5; i++) await source.list().catch(() => {});
    expect(state.reads).toBe(reads);
    expect(events.map((e) => (e.kind === 'read-failed' ? e.served : e.kind))).toEqual(['isolate', 'none']);
  });

  it('a new isolate routes on the snapshot another left, within the bound, and recovers when Redis answers', async () => {
    let now = Date.now();
    const id = await register('s1', now);
    const store = memoryStore();
    const first = switchable(bridged.redis);
    const warm = new RedisOriginSource({
      redis: first.client,
      staleIfErrorMs: 5_000,
      snapshots: snapshotsIn(store),
      now: () => now,
    });
    expect(await idsOf(warm)).toContain(id);
    expect(store.puts).toBe(1);

    now += 2_000;
    const second = switchable(bridged.redis);
    second.state.mode = 'down';
    const events: FleetSourceEvent[] = [];
    const cold = new RedisOriginSource({
      redis: second.client,
      cacheMs: 1_000,
      staleIfErrorMs: 5_000,
      snapshots: snapshotsIn(store),
      now: () => now,
      onEvent: (e) => events.push(e),
    });
    expect(await idsOf(cold)).toContain(id);
    expect(events).toEqual([
      expect.objectContaining({ kind: 'read-failed', served: 'snapshot', ageMs: 2_000 }),
    ]);

    // Redis answers again: the fleet it returns (a new origin included) routes from the next read on.
    const joined = await register('s2', now);
    second.state.mode = 'up';
    now += 1_000;
    expect(await idsOf(cold)).toEqual(expect.arrayContaining([id, joined]));
    expect(events.at(-1)).toEqual({ kind: 'recovered', failedForMs: 1_000 });
  });

  it('a snapshot older than the bound is not used: the static list serves, or the request is a 503', async () => {
    let now = Date.now();
    await register('o1', now);
    const store = memoryStore();
    await idsOf(
      new RedisOriginSource({
        redis: bridged.redis,
        staleIfErrorMs: 5_000,
        snapshots: snapshotsIn(store),
        now: () => now,
      }),
    );
    now += 6_000;
    const down = switchable(bridged.redis);
    down.state.mode = 'down';
    const options = {
      redis: down.client,
      staleIfErrorMs: 5_000,
      snapshots: snapshotsIn(store),
      now: () => now,
    };
    const withFallback = new RedisOriginSource({
      ...options,
      fallback: parseStaticOrigins('s=http://127.0.0.1:2'),
    });
    expect(await idsOf(withFallback)).toEqual(['s']);
    const without = new RedisOriginSource(options);
    const err = await without.list().catch((e: unknown) => e);
    expect((err as AppError).code).toBe('DEPENDENCY_UNAVAILABLE');
  });

  it('a registry that lost its data does not replace the known fleet; one whose origins all left is believed', async () => {
    let now = Date.now();
    const id = await register('e1', now);
    const { client, state } = switchable(bridged.redis);
    const events: FleetSourceEvent[] = [];
    const source = new RedisOriginSource({
      redis: client,
      cacheMs: 1_000,
      staleIfErrorMs: 5_000,
      now: () => now,
      onEvent: (e) => events.push(e),
    });
    expect(await idsOf(source)).toContain(id);
    state.mode = 'lost';
    now += 1_000;
    expect(await idsOf(source)).toContain(id);
    expect(events).toEqual([{ kind: 'registry-lost', served: 'isolate', ageMs: 1_000 }]);
    // Within the staleness bound only.
    now += 4_500;
    expect(await idsOf(source)).toEqual([]);
    // An intact index with no origin in it: they left (drained, scaled in), and that is believed at once.
    const other = new RedisOriginSource({ redis: client, now: () => now });
    state.mode = 'up';
    expect(await idsOf(other)).toContain(id);
    state.mode = 'left';
    now += 2_000;
    expect(await idsOf(other)).toEqual([]);
  });
});

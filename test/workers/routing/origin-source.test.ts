import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors/index.ts';
import type { RegistryRedis } from '../../../shared/fleet/registry.ts';
import { deregisterOrigin, registerOrigin } from '../../../shared/fleet/registry.ts';
import {
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
    const errors: unknown[] = [];
    const source = new RedisOriginSource({
      redis: other.redis,
      cacheMs: 1_000,
      now: () => now,
      onError: (e) => errors.push(e),
    });
    expect((await source.list()).some((o) => o.id === id)).toBe(true);
    await other.close();
    now += 5_000;
    expect((await source.list()).some((o) => o.id === id)).toBe(true);
    expect(errors.length).toBe(1);
  });

  it('without a list read yet, serves the fallback, or fails with a 503 naming Redis', async () => {
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

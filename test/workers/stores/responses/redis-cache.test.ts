import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCache } from '../../../../workers/stores/responses/redis-cache.ts';
import { responseCacheContract } from '../../../support/response-cache.contract.ts';
import { type BridgedRedis, startBridgedRedis } from '../../bridged-redis.ts';

let bridged: BridgedRedis;
beforeAll(async () => {
  bridged = await startBridgedRedis({ namespace: 'redis-cache' });
});
afterAll(async () => {
  await bridged.close();
});

responseCacheContract('RedisCache via the Upstash bridge', async () => ({
  cache: new RedisCache(bridged.redis, { prefix: bridged.prefix }),
  cleanup: () => bridged.cleanup(),
}));

describe('RedisCache', () => {
  it('stores with EX equal to the TTL so Redis expires entries by itself', async () => {
    const cache = new RedisCache(bridged.redis, { prefix: bridged.prefix });
    await cache.set('ttl', { status: 200, headers: [], body: new Uint8Array([1]), storedAt: 1 }, 120);
    const ttl = await bridged.redis.ttl(`${bridged.prefix}ttl`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('treats a foreign value under its key as a miss', async () => {
    const cache = new RedisCache(bridged.redis, { prefix: bridged.prefix });
    await bridged.redis.set(`${bridged.prefix}foreign`, JSON.stringify({ hello: 'world' }));
    expect(await cache.get('foreign')).toBeNull();
  });

  it('works with a client that does not deserialise JSON automatically', async () => {
    const { Redis } = await import('@upstash/redis');
    const raw = new Redis({
      url: bridged.bridge.url,
      token: bridged.bridge.token,
      automaticDeserialization: false,
    });
    const writer = new RedisCache(bridged.redis, { prefix: bridged.prefix });
    const reader = new RedisCache(raw, { prefix: bridged.prefix });
    await writer.set(
      'raw',
      { status: 200, headers: [['content-type', 'x']], body: new Uint8Array([0, 255]), storedAt: 5 },
      60,
    );
    const got = await reader.get('raw');
    expect([...got!.body]).toEqual([0, 255]);
  });
});

import { randomBytes } from 'node:crypto';
import { Redis } from '@upstash/redis';
import { Redis as IORedis } from 'ioredis';
import { startUpstashBridge, type UpstashBridge } from '../../scripts/dev/upstash-bridge.ts';

/**
 * The edge's tests use their own Redis logical database so the usage stream they write (`aiserve:usage`, a
 * fixed name) never mixes with other suites' streams; every key they create is deleted afterwards.
 */
const EDGE_TEST_REDIS_URL = `${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}/11`;

export interface RedisFixture {
  bridge: UpstashBridge;
  /** A fresh @upstash/redis client through the bridge, configured as the edge configures it. */
  client(options?: { autoPipeline?: boolean }): Redis;
  /** Direct access for assertions and cleanup. */
  admin: IORedis;
  env: Record<string, string>;
  /** Deletes the keys created under these patterns, then closes. */
  close(patterns: string[]): Promise<void>;
}

/** `redisUrl`: another logical database, for a suite whose volume would crowd the shared usage stream. */
export async function startRedisFixture(redisUrl = EDGE_TEST_REDIS_URL): Promise<RedisFixture> {
  const token = randomBytes(16).toString('hex');
  const bridge = await startUpstashBridge({ redisUrl, token });
  const admin = new IORedis(redisUrl);
  return {
    bridge,
    admin,
    env: { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: token },
    client: (options = {}) =>
      new Redis({
        url: bridge.url,
        token,
        enableAutoPipelining: options.autoPipeline ?? true,
        retry: { retries: 0 },
      }),
    async close(patterns) {
      for (const pattern of patterns) {
        let cursor = '0';
        do {
          const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
          if (keys.length > 0) await admin.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      }
      admin.disconnect();
      await bridge.close();
    },
  };
}

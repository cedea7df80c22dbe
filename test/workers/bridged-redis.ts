import { randomBytes } from 'node:crypto';
import { Redis } from '@upstash/redis';
import { startUpstashBridge, type UpstashBridge } from '../../scripts/dev/upstash-bridge.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The edge-routing suites use their own logical database: the fleet registry's keys (`aiserve:origins`) are
 * fixed names, and other suites running in parallel must never see these tests' origins.
 */
const EDGE_ROUTING_TEST_DB = 13;

function withDatabase(url: string, db: number): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export interface BridgedRedis {
  bridge: UpstashBridge;
  redis: Redis;
  /** A key prefix unique to this test file run. */
  prefix: string;
  /** Deletes every key under the prefix. */
  cleanup(): Promise<void>;
  close(): Promise<void>;
}

/** The real `@upstash/redis` client → the local Upstash REST bridge → the real Redis on 127.0.0.1. */
export async function startBridgedRedis(
  options: { autoPipelining?: boolean; namespace?: string; db?: number } = {},
): Promise<BridgedRedis> {
  const bridge = await startUpstashBridge({
    redisUrl: withDatabase(REDIS_URL, options.db ?? EDGE_ROUTING_TEST_DB),
    token: randomBytes(16).toString('hex'),
  });
  const redis = new Redis({
    url: bridge.url,
    token: bridge.token,
    enableAutoPipelining: options.autoPipelining ?? false,
    retry: false,
  });
  const prefix = `test:${options.namespace ?? 'edge'}:${randomBytes(6).toString('hex')}:`;
  const cleanup = async () => {
    // Bounded: a test file writes at most a few hundred keys.
    for (let i = 0; i < 100; i++) {
      const [cursor, keys] = await redis.scan(0, { match: `${prefix}*`, count: 1000 });
      if (keys.length > 0) await redis.del(...keys);
      if (String(cursor) === '0' && keys.length === 0) break;
    }
  };
  return {
    bridge,
    redis,
    prefix,
    cleanup,
    async close() {
      await cleanup();
      await bridge.close();
    },
  };
}

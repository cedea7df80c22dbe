import { Redis } from '@upstash/redis';
import type { EdgeConfig } from '../../shared/config/edge.ts';

/**
 * The edge's one `@upstash/redis` client (REST, so it works in Workers), shared by every Redis-backed store;
 * null without `UPSTASH_REDIS_REST_URL` (the in-isolate stores serve instead). Auto-pipelining puts the commands
 * issued in one tick (the limiter's and the cache lookup's) into one HTTP request.
 */
export function createRedis(config: EdgeConfig): Redis | null {
  if (!config.UPSTASH_REDIS_REST_URL) return null;
  return new Redis({
    url: config.UPSTASH_REDIS_REST_URL,
    token: config.UPSTASH_REDIS_REST_TOKEN ?? '',
    enableAutoPipelining: true,
    // One quick retry: the edge prefers its fallbacks (isolate limiter, Postgres) to waiting on Redis.
    retry: { retries: 1, backoff: () => 20 },
    signal: () => AbortSignal.timeout(config.REDIS_TIMEOUT_MS),
    latencyLogging: false,
  });
}

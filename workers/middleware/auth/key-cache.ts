import type { Redis } from '@upstash/redis';
import type { EdgeLogger } from '../../observability/logger.ts';
import type { EdgeMetrics } from '../../observability/metrics.ts';
import { type AuthKeyRecord, authCacheKey, authKeyRecordSchema } from '../../store/auth-record.ts';
import { TtlMap } from '../../store/ttl-map.ts';

export interface KeyCacheOptions {
  /** Postgres (read replica) lookup: `findKeyForAuth(db, prefix)`. */
  lookup(prefix: string): Promise<AuthKeyRecord | null>;
  redis: Pick<Redis, 'get' | 'set' | 'del'> | null;
  memoryTtlMs: number;
  negativeTtlMs: number;
  redisTtlSeconds: number;
  now: () => number;
  metrics: EdgeMetrics;
  logger: EdgeLogger;
  maxEntries?: number;
}

/**
 * Key records in three tiers: isolate memory (short TTL) → Redis `aiserve:auth:<prefix>` → Postgres.
 * Revocation bound: a revoker that deletes the Redis entry (the admin API and the data layer do) is seen by
 * every isolate within `memoryTtlMs`; a change made only in Postgres within `memoryTtlMs + redisTtlSeconds`.
 * Unknown prefixes are cached negatively in memory only, so a guessed key never reaches Postgres twice in a
 * row but a key created a moment later is found within `negativeTtlMs`.
 */
export interface KeyCache {
  find(prefix: string): Promise<AuthKeyRecord | null>;
  /** Forgets the prefix in this isolate and in Redis (after revocation or rotation). */
  invalidate(prefix: string): Promise<void>;
  /** Whether this isolate holds a record for the prefix now (memory only: never a lookup). */
  holds(prefix: string): boolean;
}

export function createKeyCache(options: KeyCacheOptions): KeyCache {
  const memory = new TtlMap<AuthKeyRecord | null>({
    maxEntries: options.maxEntries ?? 10_000,
    now: options.now,
  });

  const fromRedis = async (prefix: string): Promise<AuthKeyRecord | undefined> => {
    if (!options.redis) return undefined;
    try {
      const value = await options.redis.get<unknown>(authCacheKey(prefix));
      if (value === null || value === undefined) return undefined;
      const parsed = authKeyRecordSchema.safeParse(typeof value === 'string' ? JSON.parse(value) : value);
      if (parsed.success && parsed.data.prefix === prefix) return parsed.data;
      options.logger.warn({ prefix }, 'ignoring malformed auth cache entry in Redis');
      return undefined;
    } catch (err) {
      // Redis down: Postgres still answers (R2); counted so the outage is visible.
      options.metrics.inc('edge_redis_errors_total');
      options.logger.warn({ prefix, err }, 'auth cache read from Redis failed; asking Postgres');
      return undefined;
    }
  };

  const toRedis = async (record: AuthKeyRecord): Promise<void> => {
    if (!options.redis) return;
    try {
      await options.redis.set(authCacheKey(record.prefix), JSON.stringify(record), {
        ex: options.redisTtlSeconds,
      });
    } catch (err) {
      options.metrics.inc('edge_redis_errors_total');
      options.logger.warn({ prefix: record.prefix, err }, 'auth cache write to Redis failed');
    }
  };

  return {
    async find(prefix) {
      const cached = memory.get(prefix);
      if (cached !== undefined) {
        options.metrics.inc('edge_auth_cache_hits_memory_total');
        return cached;
      }
      const shared = await fromRedis(prefix);
      if (shared) {
        options.metrics.inc('edge_auth_cache_hits_redis_total');
        memory.set(prefix, shared, options.memoryTtlMs);
        return shared;
      }
      options.metrics.inc('edge_auth_db_lookups_total');
      const record = await options.lookup(prefix);
      if (!record) {
        memory.set(prefix, null, options.negativeTtlMs);
        return null;
      }
      memory.set(prefix, record, options.memoryTtlMs);
      await toRedis(record);
      return record;
    },
    holds(prefix) {
      return Boolean(memory.get(prefix));
    },
    async invalidate(prefix) {
      memory.delete(prefix);
      if (!options.redis) return;
      await options.redis.del(authCacheKey(prefix));
    },
  };
}

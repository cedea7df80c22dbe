import type { Redis } from '@upstash/redis';
import { type AuthKeyRecord, authKeyRecordSchema } from '../../../shared/keys/auth-record.ts';
import { authCacheKey } from '../../../shared/redis-keys.ts';
import type { EdgeLogger } from '../../observability/logger.ts';
import type { EdgeMetrics } from '../../observability/metrics.ts';
import { TtlMap } from '../ttl-map.ts';

export interface KeyCacheOptions {
  /** Postgres (read replica) lookup: `findKeyForAuth(db, prefix)`. */
  lookup(prefix: string): Promise<AuthKeyRecord | null>;
  redis: Pick<Redis, 'get' | 'set' | 'del'> | null;
  memoryTtlMs: number;
  negativeTtlMs: number;
  redisTtlSeconds: number;
  /**
   * How long past its freshness a record may still be served when Postgres cannot be asked (0: never). Kept in
   * Redis beside the record, or in isolate memory when there is no Redis.
   */
  staleIfErrorSeconds?: number;
  now: () => number;
  metrics: EdgeMetrics;
  logger: EdgeLogger;
  maxEntries?: number;
}

/**
 * Key records in three tiers: isolate memory (short TTL) → Redis (`authCacheKey(prefix)`) → Postgres.
 * Revocation bound: a revoker that deletes the Redis entry (the admin API and the data layer do) is seen by
 * every isolate within `memoryTtlMs`; a change made only in Postgres within `memoryTtlMs + redisTtlSeconds`.
 * Unknown prefixes are cached negatively in memory only, so a guessed key never reaches Postgres twice in a
 * row but a key created a moment later is found within `negativeTtlMs`.
 *
 * Stale if error (R3): the Redis entry outlives its freshness by `staleIfErrorSeconds`. A stale entry sends the
 * lookup to Postgres as an expired one did; only when Postgres fails is the stale record served, so known keys
 * keep working through a database outage, even in a cold isolate. Revocation still holds: it deletes the entry,
 * stale copy included, and Postgres answers for a deleted key.
 */
export interface KeyCache {
  find(prefix: string): Promise<AuthKeyRecord | null>;
  /** Forgets the prefix in this isolate and in Redis (after revocation or rotation). */
  invalidate(prefix: string): Promise<void>;
  /** Whether this isolate holds a record for the prefix now (memory only: never a lookup). */
  holds(prefix: string): boolean;
}

/** What Redis holds per prefix: the record and until when it is fresh (epoch ms). */
interface SharedEntry {
  record: AuthKeyRecord;
  freshUntil: number;
}

/** The entry, or a bare record as earlier versions wrote it (fresh until Redis expires it); null if neither. */
function parseSharedEntry(value: unknown): SharedEntry | null {
  if (value && typeof value === 'object' && 'record' in value && 'freshUntil' in value) {
    const { record, freshUntil } = value as { record: unknown; freshUntil: unknown };
    const parsed = authKeyRecordSchema.safeParse(record);
    return parsed.success && typeof freshUntil === 'number' ? { record: parsed.data, freshUntil } : null;
  }
  const bare = authKeyRecordSchema.safeParse(value);
  return bare.success ? { record: bare.data, freshUntil: Number.POSITIVE_INFINITY } : null;
}

export function createKeyCache(options: KeyCacheOptions): KeyCache {
  const memory = new TtlMap<AuthKeyRecord | null>({
    maxEntries: options.maxEntries ?? 10_000,
    now: options.now,
  });
  const staleMs = (options.staleIfErrorSeconds ?? 0) * 1000;
  // Without Redis, the stale copies live in this isolate (the Node entry and local development).
  const staleMemory =
    !options.redis && staleMs > 0
      ? new TtlMap<AuthKeyRecord>({ maxEntries: options.maxEntries ?? 10_000, now: options.now })
      : null;

  const fromRedis = async (prefix: string): Promise<SharedEntry | undefined> => {
    if (!options.redis) return undefined;
    try {
      const value = await options.redis.get<unknown>(authCacheKey(prefix));
      if (value === null || value === undefined) return undefined;
      const entry = parseSharedEntry(typeof value === 'string' ? JSON.parse(value) : value);
      if (entry && entry.record.prefix === prefix) return entry;
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
      const entry: SharedEntry = { record, freshUntil: options.now() + options.redisTtlSeconds * 1000 };
      await options.redis.set(authCacheKey(record.prefix), JSON.stringify(entry), {
        ex: options.redisTtlSeconds + (options.staleIfErrorSeconds ?? 0),
      });
    } catch (err) {
      options.metrics.inc('edge_redis_errors_total');
      options.logger.warn({ prefix: record.prefix, err }, 'auth cache write to Redis failed');
    }
  };

  const forgetInRedis = async (prefix: string): Promise<void> => {
    try {
      await options.redis?.del(authCacheKey(prefix));
    } catch (err) {
      options.metrics.inc('edge_redis_errors_total');
      options.logger.warn({ prefix, err }, 'auth cache delete in Redis failed');
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
      if (shared && shared.freshUntil > options.now()) {
        options.metrics.inc('edge_auth_cache_hits_redis_total');
        memory.set(prefix, shared.record, options.memoryTtlMs);
        return shared.record;
      }
      options.metrics.inc('edge_auth_db_lookups_total');
      let record: AuthKeyRecord | null;
      try {
        record = await options.lookup(prefix);
      } catch (err) {
        const stale = staleMs > 0 ? (shared?.record ?? staleMemory?.get(prefix)) : undefined;
        if (!stale) throw err;
        options.metrics.inc('edge_auth_stale_served_total');
        options.logger.warn(
          { prefix, err },
          'key store (Postgres) unreachable: serving the last known record of this key',
        );
        memory.set(prefix, stale, options.memoryTtlMs);
        return stale;
      }
      if (!record) {
        memory.set(prefix, null, options.negativeTtlMs);
        staleMemory?.delete(prefix);
        // Postgres no longer knows the key: its stale copy must never be served in a later outage.
        if (shared) await forgetInRedis(prefix);
        return null;
      }
      memory.set(prefix, record, options.memoryTtlMs);
      staleMemory?.set(prefix, record, options.memoryTtlMs + staleMs);
      await toRedis(record);
      return record;
    },
    holds(prefix) {
      return Boolean(memory.get(prefix));
    },
    async invalidate(prefix) {
      memory.delete(prefix);
      staleMemory?.delete(prefix);
      if (!options.redis) return;
      await options.redis.del(authCacheKey(prefix));
    },
  };
}

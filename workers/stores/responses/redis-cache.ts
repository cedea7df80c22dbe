import type { Redis } from '@upstash/redis';
import { RESPONSE_CACHE_PREFIX } from '../../../shared/redis-keys.ts';
import {
  decodeStoredResponse,
  encodeStoredResponse,
  type ResponseCache,
  type StoredResponse,
} from './stored-response.ts';

/** The commands the cache uses; any `@upstash/redis` client fits. */
export type ResponseCacheRedis = Pick<Redis, 'getex' | 'set' | 'del'>;

export interface RedisCacheOptions {
  /** Defaults to `RESPONSE_CACHE_PREFIX`; tests pass a unique prefix. */
  prefix?: string;
}

/**
 * The global tier: answers in Redis (through `@upstash/redis`, REST) as text with a base64 body, so binary
 * tensor answers survive every client encoding, stored with `EX ttl` so Redis expires them by itself.
 * Errors propagate; the layered cache decides that a failing Redis is a miss.
 */
export class RedisCache implements ResponseCache {
  readonly #redis: ResponseCacheRedis;
  readonly #prefix: string;

  constructor(redis: ResponseCacheRedis, options: RedisCacheOptions = {}) {
    this.#redis = redis;
    this.#prefix = options.prefix ?? RESPONSE_CACHE_PREFIX;
  }

  async get(key: string): Promise<StoredResponse | null> {
    // GETEX without options is GET, but `@upstash/redis` auto-pipelining files it with the write commands
    // (the rate limiter's EVALSHA), so lookup and limit leave in one HTTP request instead of two.
    const raw = await this.#redis.getex<unknown>(this.#prefix + key);
    return raw === null || raw === undefined ? null : decodeStoredResponse(raw);
  }

  async set(key: string, value: StoredResponse, ttlSeconds: number): Promise<void> {
    const ttl = Math.floor(ttlSeconds);
    if (ttl <= 0) return;
    await this.#redis.set(this.#prefix + key, encodeStoredResponse(value), { ex: ttl });
  }

  async delete(key: string): Promise<void> {
    await this.#redis.del(this.#prefix + key);
  }
}

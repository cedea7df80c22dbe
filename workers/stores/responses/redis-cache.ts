import type { Redis } from '@upstash/redis';
import { RESPONSE_CACHE_PREFIX } from '../../../shared/redis-keys.ts';
import type { ResponseCache, StoredResponse } from './stored-response.ts';

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

// Base64 without Node's Buffer, so the Redis encoding is the same under Workers and Node.
const CHUNK = 0x8000;

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Text form for Redis. The prefix keeps it from parsing as JSON, so `@upstash/redis` returns it verbatim
 * whether or not the client deserialises JSON automatically.
 */
const TEXT_PREFIX = 'aiserve-response:1:';

function encodeStoredResponse(value: StoredResponse): string {
  return (
    TEXT_PREFIX +
    JSON.stringify({ s: value.status, h: value.headers, t: value.storedAt, b: bytesToBase64(value.body) })
  );
}

/** Null for anything that is not an entry this module wrote (a foreign or corrupt value is a miss). */
function decodeStoredResponse(text: unknown): StoredResponse | null {
  if (typeof text !== 'string' || !text.startsWith(TEXT_PREFIX)) return null;
  try {
    const raw = JSON.parse(text.slice(TEXT_PREFIX.length)) as {
      s: unknown;
      h: unknown;
      t: unknown;
      b: unknown;
    };
    if (typeof raw.s !== 'number' || typeof raw.t !== 'number' || typeof raw.b !== 'string') return null;
    if (!Array.isArray(raw.h)) return null;
    const headers: [string, string][] = [];
    for (const pair of raw.h) {
      if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') return null;
      headers.push([pair[0], pair[1]]);
    }
    return { status: raw.s, headers, storedAt: raw.t, body: base64ToBytes(raw.b) };
  } catch {
    return null;
  }
}

import type { ResponseCache, StoredResponse } from '../stores/responses/stored-response.ts';

export type CacheTier = 'edge' | 'redis';
export type CacheHitSource = 'HIT-EDGE' | 'HIT-REDIS';

export interface LayeredCacheOptions {
  /** Per-location tier: the Workers Cache API, or a MemoryCache under Node; null for none. */
  edge: ResponseCache | null;
  /** Global tier: Redis, or a MemoryCache when no Redis is configured; null for none. */
  shared: ResponseCache | null;
  /** Epoch ms; defaults to `Date.now`. */
  now?: () => number;
  /** A tier failed; the request goes on as a miss (reads) or without that copy (writes). */
  onError?: (tier: CacheTier, operation: 'get' | 'set', error: unknown) => void;
}

export type WaitUntil = (promise: Promise<unknown>) => void;

/**
 * Edge tier first, then the shared tier. A shared hit back-fills the edge tier in the background (through
 * `waitUntil`) for the time it has left, so the next request in this location is a HIT-EDGE. A failing tier
 * is a miss, never an error: the cache only ever makes requests faster.
 */
export class LayeredCache {
  readonly #edge: ResponseCache | null;
  readonly #shared: ResponseCache | null;
  readonly #now: () => number;
  readonly #onError: NonNullable<LayeredCacheOptions['onError']>;

  constructor(options: LayeredCacheOptions) {
    this.#edge = options.edge;
    this.#shared = options.shared;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => {});
  }

  async getEdge(key: string, ttlSeconds: number): Promise<StoredResponse | null> {
    if (!this.#edge) return null;
    try {
      return this.#fresh(await this.#edge.get(key), ttlSeconds);
    } catch (error) {
      this.#onError('edge', 'get', error);
      return null;
    }
  }

  /**
   * The shared-tier read. The Redis command is issued synchronously inside this call, so a caller that starts
   * it next to another command (the rate limiter's) gets both into one auto-pipelined round trip.
   */
  getShared(key: string, ttlSeconds: number): Promise<StoredResponse | null> {
    if (!this.#shared) return Promise.resolve(null);
    let pending: Promise<StoredResponse | null>;
    try {
      pending = this.#shared.get(key);
    } catch (error) {
      pending = Promise.reject(error);
    }
    return pending.then(
      (value) => this.#fresh(value, ttlSeconds),
      (error: unknown) => {
        this.#onError('redis', 'get', error);
        return null;
      },
    );
  }

  /** Copies a shared-tier hit to the edge tier for the rest of its lifetime. */
  backfillEdge(key: string, value: StoredResponse, ttlSeconds: number, waitUntil: WaitUntil): void {
    const left = Math.floor(ttlSeconds - (this.#now() - value.storedAt) / 1000);
    if (!this.#edge || left <= 0) return;
    waitUntil(this.#set(this.#edge, 'edge', key, value, left));
  }

  /** Stores a fresh answer in both tiers in the background. */
  store(key: string, value: StoredResponse, ttlSeconds: number, waitUntil: WaitUntil): void {
    if (ttlSeconds <= 0) return;
    if (this.#edge) waitUntil(this.#set(this.#edge, 'edge', key, value, ttlSeconds));
    if (this.#shared) waitUntil(this.#set(this.#shared, 'redis', key, value, ttlSeconds));
  }

  async #set(
    tier: ResponseCache,
    name: CacheTier,
    key: string,
    value: StoredResponse,
    ttlSeconds: number,
  ): Promise<void> {
    try {
      await tier.set(key, value, ttlSeconds);
    } catch (error) {
      this.#onError(name, 'set', error);
    }
  }

  /**
   * A model's TTL may have been shortened since the answer was stored: an entry older than the current TTL
   * is a miss even if its tier still holds it.
   */
  #fresh(value: StoredResponse | null, ttlSeconds: number): StoredResponse | null {
    if (!value) return null;
    return this.#now() - value.storedAt < ttlSeconds * 1000 ? value : null;
  }
}

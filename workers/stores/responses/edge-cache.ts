import type { EdgeCache } from '../../adapters/platform.ts';
import type { ResponseCache, StoredResponse } from './stored-response.ts';
import { fromResponse } from './stored-response.ts';

/** Synthetic host of cache entries: never resolvable, so an entry can never be mistaken for a real URL. */
const EDGE_CACHE_BASE_URL = 'https://cache.aiserve.internal/';

const STORED_AT = 'x-aiserve-stored-at';

/**
 * The per-location tier: the Workers Cache API (`caches.default`, behind `EdgeCache`). Entries are GET
 * requests to `https://cache.aiserve.internal/<key>`; the stored response carries `Cache-Control: max-age`,
 * which is how the Cache API expires it, and its storing time in a private header.
 */
export class EdgeResponseCache implements ResponseCache {
  readonly #cache: EdgeCache;

  constructor(cache: EdgeCache) {
    this.#cache = cache;
  }

  #request(key: string): Request {
    return new Request(EDGE_CACHE_BASE_URL + encodeURIComponent(key), { method: 'GET' });
  }

  async get(key: string): Promise<StoredResponse | null> {
    const response = await this.#cache.match(this.#request(key));
    if (!response) return null;
    const storedAt = Number(response.headers.get(STORED_AT));
    return fromResponse(response, Number.isFinite(storedAt) ? storedAt : Date.now());
  }

  async set(key: string, value: StoredResponse, ttlSeconds: number): Promise<void> {
    const ttl = Math.floor(ttlSeconds);
    if (ttl <= 0) return;
    const headers = new Headers(value.headers);
    headers.set('cache-control', `max-age=${ttl}`);
    headers.set(STORED_AT, String(value.storedAt));
    const body = value.body.slice() as Uint8Array<ArrayBuffer>;
    await this.#cache.put(this.#request(key), new Response(body, { status: value.status, headers }));
  }

  async delete(key: string): Promise<void> {
    await this.#cache.delete(this.#request(key));
  }
}

import type { ResponseCache, StoredResponse } from './stored-response.ts';
import { storedResponseSize } from './stored-response.ts';

export interface MemoryCacheOptions {
  /** Total bytes held (bodies plus headers); the least recently used entries go first beyond it. */
  maxBytes: number;
  /** Largest single entry; bigger answers are not stored (one would evict everything else). */
  maxEntryBytes?: number;
  /** Epoch ms; defaults to `Date.now`. */
  now?: () => number;
}

interface Entry {
  value: StoredResponse;
  expiresAt: number;
  size: number;
}

/**
 * In-isolate response cache: LRU with a TTL per entry and a byte budget. Used as the shared tier when no
 * Redis is configured, and as the edge tier under Node (where there is no Workers Cache API). A Map keeps
 * insertion order, so re-inserting on read makes the first key the least recently used.
 */
export class MemoryCache implements ResponseCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxBytes: number;
  readonly #maxEntryBytes: number;
  readonly #now: () => number;
  #bytes = 0;

  constructor(options: MemoryCacheOptions) {
    this.#maxBytes = Math.max(0, options.maxBytes);
    this.#maxEntryBytes = Math.min(this.#maxBytes, options.maxEntryBytes ?? Math.ceil(this.#maxBytes / 4));
    this.#now = options.now ?? Date.now;
  }

  /** Bytes currently held. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  async get(key: string): Promise<StoredResponse | null> {
    return this.getSync(key);
  }

  getSync(key: string): StoredResponse | null {
    const entry = this.#entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= this.#now()) {
      this.#remove(key, entry);
      return null;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  async set(key: string, value: StoredResponse, ttlSeconds: number): Promise<void> {
    const existing = this.#entries.get(key);
    if (existing) this.#remove(key, existing);
    if (!(ttlSeconds > 0)) return;
    const size = storedResponseSize(value) + key.length;
    if (size > this.#maxEntryBytes) return;
    // Callers may reuse their buffer; the cache keeps its own copy.
    const copy: StoredResponse = { ...value, headers: [...value.headers], body: value.body.slice() };
    this.#entries.set(key, { value: copy, expiresAt: this.#now() + ttlSeconds * 1000, size });
    this.#bytes += size;
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#remove(k, e);
    }
  }

  async delete(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry) this.#remove(key, entry);
  }

  #remove(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= entry.size;
  }
}

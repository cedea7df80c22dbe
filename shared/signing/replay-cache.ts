/** Remembers nonces so a signed request cannot be replayed inside the skew window. */
export interface ReplayCache {
  /** True the first time a nonce is seen (and remembers it for `ttlSeconds`); false for a replay. */
  checkAndRemember(nonce: string, ttlSeconds: number): Promise<boolean>;
}

export interface MemoryReplayCacheOptions {
  /**
   * Most nonces held at once. When full, the oldest entry is dropped even if unexpired (counted in
   * `evictions`): memory stays bounded under any load, at the price of a replay window for the dropped nonce.
   */
  maxEntries?: number;
  /** Epoch milliseconds; defaults to `Date.now`. */
  now?: () => number;
}

/**
 * In-memory replay cache, per process. A Map keeps insertion order, which is expiry order while the TTL is
 * constant (the verifier always passes 2×maxSkew), so expired entries are swept from the front: each entry
 * is inserted and removed once, O(1) amortised per call. An entry found expired on lookup counts as new.
 */
export class MemoryReplayCache implements ReplayCache {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  #evictions = 0;

  constructor(options: MemoryReplayCacheOptions = {}) {
    this.#maxEntries = Math.max(1, options.maxEntries ?? 200_000);
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Unexpired entries dropped because the cache was full. */
  get evictions(): number {
    return this.#evictions;
  }

  async checkAndRemember(nonce: string, ttlSeconds: number): Promise<boolean> {
    return this.checkAndRememberSync(nonce, ttlSeconds);
  }

  checkAndRememberSync(nonce: string, ttlSeconds: number): boolean {
    const now = this.#now();
    this.#sweep(now);
    const expiresAt = this.#entries.get(nonce);
    if (expiresAt !== undefined) {
      if (expiresAt > now) return false;
      this.#entries.delete(nonce);
    }
    while (this.#entries.size >= this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
      this.#evictions++;
    }
    this.#entries.set(nonce, now + ttlSeconds * 1000);
    return true;
  }

  #sweep(now: number): void {
    for (const [nonce, expiresAt] of this.#entries) {
      if (expiresAt > now) return;
      this.#entries.delete(nonce);
    }
  }
}

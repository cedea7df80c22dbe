/**
 * A bounded map whose entries expire. Isolate memory is shared by every request an isolate serves, so the bound
 * keeps a flood of distinct keys (guessed API keys, many client IPs) from growing it without limit; the oldest
 * insertion is evicted first.
 */
export class TtlMap<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: { maxEntries: number; now: () => number }) {
    this.#maxEntries = options.maxEntries;
    this.#now = options.now;
  }

  /** `undefined` when absent or expired (an expired entry is removed on read). */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAt: this.#now() + ttlMs });
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}

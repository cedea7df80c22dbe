/**
 * Coalesces identical in-flight work in this isolate: while one call for a key is running, later callers
 * with the same key wait for it instead of starting their own. The shared value must be immutable (callers
 * build their own Response from it). A failure is shared by everyone waiting at that moment, but the entry
 * is removed as soon as the call settles, so the next caller starts afresh: failures are never cached.
 */
export class Coalescer<T> {
  readonly #inflight = new Map<string, Promise<T>>();

  /** `leader` is true for the caller whose call actually runs. */
  run(key: string, fn: () => Promise<T>): { promise: Promise<T>; leader: boolean } {
    const existing = this.#inflight.get(key);
    if (existing) return { promise: existing, leader: false };
    const promise = (async () => fn())();
    this.#inflight.set(key, promise);
    const clear = () => {
      if (this.#inflight.get(key) === promise) this.#inflight.delete(key);
    };
    promise.then(clear, clear);
    return { promise, leader: true };
  }

  /** Keys with a call in flight. */
  get size(): number {
    return this.#inflight.size;
  }
}

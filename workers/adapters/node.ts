import type { Platform } from './platform.ts';

/**
 * Node has no `waitUntil`: background work runs detached, and is tracked so tests, benchmarks and shutdown
 * can wait for it (`settle()`); a rejected task is already handled by its producer.
 */
export function createNodePlatform(options: { now?: () => number } = {}) {
  const pending = new Set<Promise<unknown>>();
  const platform: Platform = {
    waitUntil(promise) {
      const tracked = promise.catch(() => {}).finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
    edgeCache: null,
    now: options.now ?? (() => Date.now()),
  };
  return {
    platform,
    /** Resolves when every background task started so far has finished. */
    async settle(): Promise<void> {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}

/**
 * Collects key prefixes seen by this isolate and writes `last_used_at` for all of them at most once per interval,
 * instead of a database write per request. `mark` returns the write when one is due, for `waitUntil`.
 */
export interface TouchBatcher {
  mark(prefix: string): Promise<void> | null;
}

export function createTouchBatcher(options: {
  intervalMs: number;
  now: () => number;
  write(prefixes: string[]): Promise<void>;
  onError(err: unknown): void;
}): TouchBatcher {
  let pending = new Set<string>();
  let lastWrite = Number.NEGATIVE_INFINITY;
  return {
    mark(prefix) {
      pending.add(prefix);
      const now = options.now();
      if (now - lastWrite < options.intervalMs) return null;
      lastWrite = now;
      const batch = [...pending];
      pending = new Set();
      return options.write(batch).catch((err) => {
        // Last-used is advisory: a failed write is logged and the ids retried with the next batch.
        for (const id of batch) pending.add(id);
        options.onError(err);
      });
    },
  };
}

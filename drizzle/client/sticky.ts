/**
 * The "sticky" rule for read replicas: after a session writes, its reads go to the primary for `windowMs`,
 * so a session never reads a replica that has not caught up with its own write yet (a key created and used
 * at once works). Sessions are logical (an admin request's tenant, a CLI run, a job), not connections.
 *
 * State is per process (per isolate on Workers): stickiness does not follow a session across machines.
 */
export interface StickyTracker {
  markWrite(sessionId: string): void;
  isSticky(sessionId: string): boolean;
  /** Sessions currently remembered (for tests and metrics). */
  size(): number;
}

export interface StickyOptions {
  windowMs: number;
  now?: () => number;
  /** Bound on remembered sessions; expired ones are pruned first, then the oldest. */
  maxSessions?: number;
}

export function createStickyTracker(options: StickyOptions): StickyTracker {
  const now = options.now ?? Date.now;
  const maxSessions = options.maxSessions ?? 10_000;
  // Insertion order = last-write order, because markWrite deletes and re-inserts.
  const lastWrite = new Map<string, number>();

  const prune = (at: number) => {
    for (const [id, ts] of lastWrite) {
      if (at - ts < options.windowMs && lastWrite.size <= maxSessions) break;
      lastWrite.delete(id);
    }
  };

  return {
    markWrite(sessionId) {
      if (options.windowMs <= 0) return;
      const at = now();
      lastWrite.delete(sessionId);
      lastWrite.set(sessionId, at);
      if (lastWrite.size > maxSessions) prune(at);
    },
    isSticky(sessionId) {
      const ts = lastWrite.get(sessionId);
      if (ts === undefined) return false;
      if (now() - ts < options.windowMs) return true;
      lastWrite.delete(sessionId);
      return false;
    },
    size: () => lastWrite.size,
  };
}

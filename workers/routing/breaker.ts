import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhenResult,
} from 'cockatiel';
import { type AttemptOutcome, countsAsBreakerFailure } from './retry.ts';

export interface BreakerSettings {
  /** Consecutive failures that open an origin's breaker. */
  consecutiveFailures: number;
  /** How long an open breaker refuses calls before letting one trial request through (half-open). */
  halfOpenAfterMs: number;
  /** Bound on breakers kept (one per origin id ever seen); the least recently used is dropped. */
  maxBreakers?: number;
}

export type BreakerStateName = 'closed' | 'open' | 'half-open';

export interface BreakerSnapshot {
  originId: string;
  state: BreakerStateName;
  /** Epoch ms the breaker last opened; null while it has never opened. */
  openedAt: number | null;
}

interface Entry {
  policy: CircuitBreakerPolicy;
  openedAt: number | null;
}

/** cockatiel keeps Open until the next call after the cooldown; Date.now is its clock, so it is ours here. */
function stateName(entry: Entry): BreakerStateName {
  switch (entry.policy.state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.HalfOpen:
      return 'half-open';
    default:
      return 'open';
  }
}

/**
 * One cockatiel circuit breaker per origin id. Failures are judged on the attempt's outcome (connection
 * failures, per-attempt timeouts, 500/502/504), never on 4xx, 429 or 503. After `halfOpenAfterMs` an open
 * breaker lets one trial through: success closes it, failure opens it again.
 */
export class BreakerRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #settings: Required<BreakerSettings>;

  constructor(settings: BreakerSettings) {
    this.#settings = { maxBreakers: 1_000, ...settings };
  }

  #entry(originId: string): Entry {
    let entry = this.#entries.get(originId);
    if (entry) {
      this.#entries.delete(originId);
      this.#entries.set(originId, entry);
      return entry;
    }
    const policy = circuitBreaker(
      handleWhenResult((result) => countsAsBreakerFailure(result as AttemptOutcome)),
      {
        halfOpenAfter: this.#settings.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(this.#settings.consecutiveFailures),
      },
    );
    const created: Entry = { policy, openedAt: null };
    policy.onBreak(() => {
      created.openedAt = Date.now();
    });
    entry = created;
    if (this.#entries.size >= this.#settings.maxBreakers)
      this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(originId, entry);
    return entry;
  }

  /**
   * Whether a call may go to the origin now: closed, or open with its cooldown over (the call becomes the
   * half-open trial). False during a trial, so other requests go elsewhere instead of queueing behind it.
   */
  isAvailable(originId: string, now = Date.now()): boolean {
    const entry = this.#entries.get(originId);
    if (!entry) return true;
    const state = stateName(entry);
    if (state === 'closed') return true;
    if (state === 'half-open') return false;
    return entry.openedAt !== null && now - entry.openedAt >= this.#settings.halfOpenAfterMs;
  }

  /** Milliseconds until the first open breaker among `originIds` allows a trial (0 when one already does). */
  msUntilAnyTrial(originIds: readonly string[], now = Date.now()): number | null {
    let best: number | null = null;
    for (const id of originIds) {
      const entry = this.#entries.get(id);
      if (!entry || stateName(entry) !== 'open' || entry.openedAt === null) continue;
      const wait = Math.max(0, entry.openedAt + this.#settings.halfOpenAfterMs - now);
      best = best === null ? wait : Math.min(best, wait);
    }
    return best;
  }

  /**
   * Runs one attempt under the origin's breaker. Resolves with the attempt's outcome, or with
   * `breaker-open` when the breaker refused the call.
   */
  async execute<T extends AttemptOutcome>(
    originId: string,
    attempt: () => Promise<T>,
  ): Promise<T | { kind: 'breaker-open' }> {
    try {
      return await this.#entry(originId).policy.execute(attempt);
    } catch (error) {
      if (error instanceof BrokenCircuitError) return { kind: 'breaker-open' };
      throw error;
    }
  }

  state(originId: string): BreakerStateName {
    const entry = this.#entries.get(originId);
    return entry ? stateName(entry) : 'closed';
  }

  /** Every breaker's state, for fleet status and tests. */
  snapshot(): BreakerSnapshot[] {
    return [...this.#entries].map(([originId, entry]) => ({
      originId,
      state: stateName(entry),
      openedAt: entry.openedAt,
    }));
  }
}

import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type IBackoff,
  type IBackoffFactory,
  type IHalfOpenAfterBackoffContext,
} from 'cockatiel';
import { isProviderError } from './types.ts';

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface ProviderBreakerOptions {
  /** Consecutive provider failures (5xx, network, timeouts) that open the breaker. */
  threshold: number;
  /** How long an open breaker skips the provider before letting one test call through. */
  halfOpenAfterMs: number;
  /** The clock the cooldown is measured on; the simulator passes simulated time. */
  now?: () => number;
  /** A previous breaker's `toJSON()`, so state survives across Cron Trigger isolates. */
  initialState?: unknown;
}

/**
 * Cockatiel measures the open period with `Date.now() - openedAt < backoff.duration`. To run it on an
 * injected clock, the backoff's `duration` is computed at each check so the comparison holds exactly while
 * less than `ms` has passed on that clock, whatever real time did.
 */
function halfOpenOnClock(now: () => number, ms: number): IBackoffFactory<IHalfOpenAfterBackoffContext> {
  const factory: IBackoffFactory<IHalfOpenAfterBackoffContext> = {
    next(): IBackoff<IHalfOpenAfterBackoffContext> {
      const realAt = Date.now();
      const clockAt = now();
      return {
        get duration() {
          return Date.now() - realAt + ms - (now() - clockAt);
        },
        next: factory.next,
      };
    },
  };
  return factory;
}

/**
 * Only failures that say the provider is unwell count: no capacity, quota, auth and bad requests are answers
 * from a healthy API and must not open the breaker (they fail over without it).
 */
function countsAgainstProvider(err: unknown): boolean {
  return !isProviderError(err) || err.kind === 'transient';
}

export function createProviderBreaker(options: ProviderBreakerOptions): CircuitBreakerPolicy {
  return circuitBreaker(handleWhen(countsAgainstProvider), {
    breaker: new ConsecutiveBreaker(options.threshold),
    halfOpenAfter: options.now
      ? halfOpenOnClock(options.now, options.halfOpenAfterMs)
      : options.halfOpenAfterMs,
  });
}

export function breakerState(policy: CircuitBreakerPolicy): BreakerState {
  switch (policy.state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.Open:
      return 'open';
    case CircuitState.HalfOpen:
      return 'half-open';
    default:
      return 'isolated';
  }
}

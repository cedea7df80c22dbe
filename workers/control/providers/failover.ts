import { type CircuitBreakerPolicy, isBrokenCircuitError } from 'cockatiel';
import { equalJitterDelay } from '../../../shared/backoff.ts';
import { AppError } from '../../../shared/errors/app-error.ts';
import { type BreakerState, breakerState, createProviderBreaker } from './breaker.ts';
import {
  isProviderError,
  isRetryableKind,
  type LaunchRequest,
  type ProviderAdapter,
  type ProviderErrorKind,
  type ProviderInstance,
} from './types.ts';

/**
 * Launching across providers: each provider sits behind its own cockatiel breaker; `transient` and
 * `rate_limited` errors are retried on the same provider with equal-jitter backoff (shared/backoff.ts);
 * anything else (no capacity, quota, auth, an open breaker, retries used up) moves on to the next provider in
 * the configured order. The same client token goes to every provider, and every adapter's launch looks it up
 * first, so a retry after a timeout never starts a second host on that provider.
 *
 * Time (breaker cooldown, backoff sleeps) and randomness are injected so the simulator drives this with
 * simulated time.
 */

export interface FailoverProvider {
  adapter: ProviderAdapter;
  /**
   * Our GPU types this provider can serve (our type → its type); a provider without a mapping for the
   * requested type is skipped without a call. Absent: the adapter decides.
   */
  gpuTypes?: Record<string, string>;
}

export interface FailoverOptions {
  providers: FailoverProvider[];
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Tries per provider for retryable errors, first try included (default 3). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  breakerThreshold?: number;
  halfOpenAfterMs?: number;
  /** Breaker states saved by `exportBreakers()` of an earlier failover (another isolate, an earlier run). */
  initialBreakers?: Record<string, unknown>;
}

type SkipReason = 'unsupported_gpu_type' | 'breaker_open' | ProviderErrorKind | 'error';

export interface ProviderAttempt {
  provider: string;
  outcome: 'launched' | 'skipped' | 'failed';
  reason?: SkipReason;
  message?: string;
  /** Calls made to this provider (0 when skipped without one). */
  calls: number;
}

interface LaunchOutcome {
  provider: string;
  instance: ProviderInstance;
  attempts: ProviderAttempt[];
}

/** No provider launched; `attempts` says why, provider by provider. */
export class FailoverError extends AppError {
  readonly attempts: ProviderAttempt[];

  constructor(gpuType: string, attempts: ProviderAttempt[]) {
    const reasons = attempts.map((a) => `${a.provider}: ${a.reason ?? a.outcome}`).join('; ');
    super('UNAVAILABLE', `no provider could launch ${gpuType} (${reasons || 'no providers configured'})`);
    this.name = 'FailoverError';
    this.attempts = attempts;
  }
}

export function isFailoverError(err: unknown): err is FailoverError {
  return err instanceof FailoverError;
}

export interface Failover {
  /**
   * `order`: provider names to try first, in that order (placement's choice); the others follow in the
   * configured order, so a launch still falls back through every provider.
   */
  launch(req: LaunchRequest, options?: { order?: readonly string[] }): Promise<LaunchOutcome>;
  /**
   * Runs one call on a provider through its breaker and retry policy (list, get, terminate); an open breaker
   * rejects at once with cockatiel's BrokenCircuitError.
   */
  call<T>(provider: string, fn: (adapter: ProviderAdapter) => Promise<T>): Promise<T>;
  breakerStates(): Record<string, BreakerState>;
  /** Serialisable breaker state per provider (cockatiel `toJSON`), for `initialBreakers`. */
  exportBreakers(): Record<string, unknown>;
  providers(): ProviderAdapter[];
}

export function createFailover(options: FailoverOptions): Failover {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const backoff = { baseDelayMs: options.baseDelayMs ?? 500, maxDelayMs: options.maxDelayMs ?? 10_000 };
  const entries = options.providers.map((p) => ({
    ...p,
    breaker: createProviderBreaker({
      threshold: options.breakerThreshold ?? 5,
      halfOpenAfterMs: options.halfOpenAfterMs ?? 60_000,
      now: options.now,
      initialState: options.initialBreakers?.[p.adapter.name],
    }) as CircuitBreakerPolicy,
  }));
  const byName = new Map(entries.map((e) => [e.adapter.name, e]));

  /** Retries retryable kinds on one provider; returns the result or the last error (and the call count). */
  async function attempt<T>(
    entry: (typeof entries)[number],
    fn: (adapter: ProviderAdapter) => Promise<T>,
  ): Promise<{ ok: true; value: T; calls: number } | { ok: false; error: unknown; calls: number }> {
    let calls = 0;
    for (let i = 0; i < maxAttempts; i++) {
      try {
        const value = await entry.breaker.execute(() => {
          calls += 1;
          return fn(entry.adapter);
        });
        return { ok: true, value, calls };
      } catch (err) {
        const retry = isProviderError(err) && isRetryableKind(err.kind) && i < maxAttempts - 1;
        if (!retry) return { ok: false, error: err, calls };
        await sleep(equalJitterDelay(i, backoff, random, err.retryAfterMs));
      }
    }
    throw new Error('unreachable: the loop returns on its last attempt');
  }

  return {
    async launch(req, options = {}) {
      const attempts: ProviderAttempt[] = [];
      const first = (options.order ?? []).flatMap((name) => {
        const entry = byName.get(name);
        return entry ? [entry] : [];
      });
      for (const entry of [...first, ...entries.filter((e) => !first.includes(e))]) {
        const provider = entry.adapter.name;
        if (entry.gpuTypes && !(req.gpuType in entry.gpuTypes)) {
          attempts.push({ provider, outcome: 'skipped', reason: 'unsupported_gpu_type', calls: 0 });
          continue;
        }
        const result = await attempt(entry, (adapter) => adapter.launch(req));
        if (result.ok) {
          attempts.push({ provider, outcome: 'launched', calls: result.calls });
          return { provider, instance: result.value, attempts };
        }
        const err = result.error;
        if (isBrokenCircuitError(err)) {
          attempts.push({ provider, outcome: 'skipped', reason: 'breaker_open', calls: result.calls });
          continue;
        }
        attempts.push({
          provider,
          outcome: 'failed',
          reason: isProviderError(err) ? err.kind : 'error',
          message: err instanceof Error ? err.message : String(err),
          calls: result.calls,
        });
      }
      throw new FailoverError(req.gpuType, attempts);
    },

    async call(provider, fn) {
      const entry = byName.get(provider);
      if (!entry) throw new AppError('INVALID_REQUEST', `provider "${provider}" is not configured`);
      const result = await attempt(entry, fn);
      if (result.ok) return result.value;
      throw result.error;
    },

    breakerStates() {
      return Object.fromEntries(entries.map((e) => [e.adapter.name, breakerState(e.breaker)]));
    },

    exportBreakers() {
      return Object.fromEntries(entries.map((e) => [e.adapter.name, e.breaker.toJSON()]));
    },

    providers() {
      return entries.map((e) => e.adapter);
    },
  };
}

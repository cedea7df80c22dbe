import { AppError } from '../../shared/errors/index.ts';

/** Request header a client may use to shorten (never extend beyond the cap) its deadline, in milliseconds. */
export const TIMEOUT_HEADER = 'x-request-timeout-ms';

export interface DeadlineSettings {
  /** Deadline of a request that asks for none. */
  defaultMs: number;
  /** No request gets more than this, whatever it asks for. */
  maxMs: number;
}

/**
 * The request's total time budget: the default, or what the client asks for with `X-Request-Timeout-Ms` or
 * the Open Inference Protocol `parameters.timeout` (microseconds), longer or shorter than the default but never
 * above `maxMs`; when both are given the smaller wins.
 * A malformed header or parameter is a 400 saying what was wrong.
 */
export function resolveDeadlineMs(
  settings: DeadlineSettings,
  header: string | null | undefined,
  timeoutParameterUs: unknown,
): number {
  let ms = settings.defaultMs;
  const asked: number[] = [];
  if (header !== null && header !== undefined && header !== '') {
    if (!/^\d{1,9}$/.test(header.trim()) || Number(header) <= 0) {
      throw new AppError(
        'INVALID_REQUEST',
        `X-Request-Timeout-Ms must be a positive integer number of milliseconds, got '${header.slice(0, 20)}'`,
      );
    }
    asked.push(Number(header));
  }
  if (timeoutParameterUs !== undefined && timeoutParameterUs !== null) {
    if (
      typeof timeoutParameterUs !== 'number' ||
      !Number.isInteger(timeoutParameterUs) ||
      timeoutParameterUs <= 0
    ) {
      throw new AppError('INVALID_REQUEST', 'parameters.timeout must be a positive integer (microseconds)');
    }
    asked.push(Math.max(1, Math.ceil(timeoutParameterUs / 1000)));
  }
  if (asked.length > 0) ms = Math.min(...asked);
  return Math.min(ms, settings.maxMs);
}

/** A point in time by which the request must be answered; attempts take what is left of it. */
export class Deadline {
  readonly totalMs: number;
  readonly expiresAt: number;
  readonly #now: () => number;

  constructor(totalMs: number, now: () => number = Date.now) {
    this.totalMs = totalMs;
    this.#now = now;
    this.expiresAt = now() + totalMs;
  }

  remainingMs(): number {
    return Math.max(0, this.expiresAt - this.#now());
  }

  expired(): boolean {
    return this.remainingMs() <= 0;
  }

  /** An AbortSignal for one attempt: the remaining budget, or `capMs` when that is shorter. */
  attemptSignal(capMs: number): { signal: AbortSignal; timeoutMs: number; cappedByAttempt: boolean } {
    const remaining = this.remainingMs();
    const timeoutMs = Math.max(1, Math.min(remaining, capMs));
    return { signal: AbortSignal.timeout(timeoutMs), timeoutMs, cappedByAttempt: capMs < remaining };
  }

  /** The 504 for a request whose budget ran out. */
  exceeded(what: string): AppError {
    return new AppError(
      'DEADLINE_EXCEEDED',
      `${what} did not finish within the request's ${this.totalMs} ms deadline`,
    );
  }
}

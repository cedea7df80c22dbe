import { noJitterGenerator } from 'cockatiel';

/**
 * Retry delays, one named strategy per kind of caller. Every strategy starts from the same capped exponential
 * step, min(max, base · 2^step), with `step` counting from 0 (cockatiel's convention); they differ in the jitter
 * on top, and each difference is deliberate (see each function).
 *
 * The step is cockatiel's own no-jitter generator. Its jittered generators are not used: they draw from
 * Math.random, while the callers here inject `random` so the simulator and the tests replay exactly. Nor is
 * cockatiel's retry policy: it sleeps on real timers, and the simulator's failover sleeps on simulated time.
 */
export interface BackoffBounds {
  /** The first step; doubles per step. */
  baseDelayMs: number;
  /** The cap of the step, before jitter. */
  maxDelayMs: number;
}

/** min(max, base · 2^step); a negative step counts as 0. */
export function exponentialStep(step: number, bounds: BackoffBounds): number {
  const [delay] = noJitterGenerator(Math.max(0, step), {
    generator: noJitterGenerator,
    initialDelay: bounds.baseDelayMs,
    maxDelay: bounds.maxDelayMs,
    exponent: 2,
  });
  return delay;
}

/**
 * No jitter: exactly the step. For a single retrier of a local resource (a model worker restarting on its own
 * machine): there is no crowd to spread out, and fixed waits read plainly in the logs.
 */
export function noJitterDelay(step: number, bounds: BackoffBounds): number {
  return exponentialStep(step, bounds);
}

/**
 * Full jitter (AWS architecture blog): uniform in [0, step), whole milliseconds. For many independent callers
 * retrying a shared pool (edge isolates retrying origins): it spreads them best, and waiting almost nothing is
 * fine because the retry goes to another origin within the request's own deadline.
 */
export function fullJitterDelay(step: number, bounds: BackoffBounds, random: () => number): number {
  return Math.floor(random() * exponentialStep(step, bounds));
}

/**
 * Equal jitter: half the step fixed, half random, rounded. For retries against the same remote API (a GPU
 * provider): reconcilers still spread out instead of hitting a recovering provider in lockstep, yet each waits at
 * least half the step. The provider's Retry-After, when it sent one, is a floor.
 */
export function equalJitterDelay(
  step: number,
  bounds: BackoffBounds,
  random: () => number,
  retryAfterMs?: number,
): number {
  const cap = exponentialStep(step, bounds);
  const delay = cap / 2 + random() * (cap / 2);
  return Math.round(retryAfterMs === undefined ? delay : Math.max(delay, retryAfterMs));
}

/**
 * Jitter above the base: uniform in [base, step], rounded, so the first retry waits exactly the base. For one
 * consumer waiting for its database to come back (the usage drain): there is never a reason to retry sooner
 * than the configured minimum, since nothing is lost while it waits (the events stay in Redis).
 */
export function jitterAboveBaseDelay(step: number, bounds: BackoffBounds, random: () => number): number {
  const ceiling = exponentialStep(step, bounds);
  return Math.round(bounds.baseDelayMs + (ceiling - bounds.baseDelayMs) * random());
}

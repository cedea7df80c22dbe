import type { BatchPolicy } from './compile-policy.ts';
import type { QueuedView } from './decide.ts';

/** Per-request rules: validation, priority level, timeout and expiry. */

/**
 * The timeout a request gets, in microseconds (0 = none). A request may only SHORTEN the model's default:
 * `min(default, requested)` when the model has a default, else what it asked for. A requested 0 or none
 * means "the model default".
 */
export function effectiveTimeoutMicros(defaultMicros: number, requestedMicros?: number): number {
  if (requestedMicros === undefined || requestedMicros <= 0) return defaultMicros;
  return defaultMicros > 0 ? Math.min(defaultMicros, requestedMicros) : requestedMicros;
}

/** Absolute deadline in clock ms; `Infinity` when `timeoutMicros` is 0. */
export function deadlineOf(enqueuedAt: number, timeoutMicros: number): number {
  return timeoutMicros > 0 ? enqueuedAt + timeoutMicros / 1000 : Number.POSITIVE_INFINITY;
}

/** A request expires at its deadline exactly (the same comparison the expiry timer is armed for). */
export function isExpired(view: Pick<QueuedView, 'deadline'>, now: number): boolean {
  return now >= view.deadline;
}

/** What a caller asks for, as far as validation is concerned. */
export interface RequestShape {
  size: number;
  priority?: number | undefined;
  timeoutMicros?: number | undefined;
}

/**
 * Validates a request against the policy; returns an error message for INVALID_INPUT, or `null`.
 * Priority 0 or none means the default level; when priorities are disabled any integer priority is ignored
 * (as Triton does).
 */
export function checkRequest(req: RequestShape, policy: BatchPolicy): string | null {
  if (!(Number.isInteger(req.size) && req.size >= 1)) {
    return `batch size must be a positive integer, got ${req.size}`;
  }
  if (policy.batching && req.size > policy.maxBatchSize) {
    return `batch size ${req.size} exceeds the model's max_batch_size ${policy.maxBatchSize}`;
  }
  const p = req.priority;
  if (p !== undefined) {
    if (!(Number.isInteger(p) && p >= 0)) return `priority must be a non-negative integer, got ${p}`;
    if (policy.priorityEnabled && p > policy.levels) {
      return `priority ${p} is out of range: the model has priority levels 1..${policy.levels} (1 highest)`;
    }
  }
  const t = req.timeoutMicros;
  if (t !== undefined && !(Number.isFinite(t) && t >= 0)) {
    return `timeout must be a non-negative number of microseconds, got ${t}`;
  }
  return null;
}

/** The queue level of a validated request: its priority, or the default level. */
export function priorityLevel(requested: number | undefined, policy: BatchPolicy): number {
  if (!policy.priorityEnabled || requested === undefined || requested === 0) return policy.defaultLevel;
  return requested;
}

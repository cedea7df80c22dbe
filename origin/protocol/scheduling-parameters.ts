import { AppError } from '../../shared/errors/index.ts';

/** Reads Triton's `priority` and `timeout` (microseconds) request parameters, rejecting wrong types. */
export function schedulingParameters(parameters: Record<string, unknown>): {
  priority?: number;
  timeoutMicros?: number;
} {
  const out: { priority?: number; timeoutMicros?: number } = {};
  for (const [key, field] of [
    ['priority', 'priority'],
    ['timeout', 'timeoutMicros'],
  ] as const) {
    const value = parameters[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new AppError(
        'INVALID_INPUT',
        `parameter '${key}' must be a non-negative integer${key === 'timeout' ? ' (microseconds)' : ''}, got ${JSON.stringify(value)}`,
      );
    }
    out[field] = value;
  }
  return out;
}

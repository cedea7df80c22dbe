import { AppError } from '../../shared/errors/index.ts';
import { describe } from './describe-value.ts';

/** Deepest tensor rank accepted on the wire (bounds recursion over nested data). */
export const MAX_RANK = 64;

export function parseShape(value: unknown, what: string): number[] {
  if (!Array.isArray(value)) {
    throw new AppError('INVALID_INPUT', `${what}: shape must be an array of non-negative integers`);
  }
  if (value.length > MAX_RANK) {
    throw new AppError('INVALID_INPUT', `${what}: shape has rank ${value.length}, more than ${MAX_RANK}`);
  }
  for (const d of value) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new AppError(
        'INVALID_INPUT',
        `${what}: shape must be an array of non-negative integers, got ${describe(d)} in it`,
      );
    }
  }
  return value as number[];
}

import { AppError } from '../../shared/errors/index.ts';
import { type Datatype, isDatatype } from '../../shared/protocol/datatypes.ts';
import { describe, truncate } from './describe-value.ts';

/**
 * Parses a wire datatype string. Unknown strings and BF16 (valid in the protocol, but onnxruntime-node has no
 * bfloat16 tensor) are 400s naming the input.
 */
export function parseDatatype(value: unknown, what: string): Datatype {
  if (isDatatype(value)) return value;
  if (value === 'BF16') {
    throw new AppError(
      'INVALID_INPUT',
      `${what}: datatype BF16 is not supported: onnxruntime-node cannot execute BF16 tensors (send FP32 or FP16)`,
    );
  }
  if (typeof value !== 'string') {
    throw new AppError('INVALID_INPUT', `${what}: datatype must be a string, got ${describe(value)}`);
  }
  throw new AppError('INVALID_INPUT', `${what}: unknown datatype '${truncate(value, 32)}'`);
}

import type { Datatype } from '../../shared/protocol/datatypes.ts';

/**
 * In-memory tensor representation shared by the codecs, the batcher and the runtime.
 * - BOOL is a Uint8Array of 0/1 (what onnxruntime's bool tensors take).
 * - FP16 is a Uint16Array of IEEE half bits (what onnxruntime's float16 tensors take).
 * - BYTES is an array of strings (onnxruntime string tensors).
 * - INT64/UINT64 are BigInt64Array/BigUint64Array.
 */
export type TensorData =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array
  | string[];

export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

/** A tensor's declared shape in model metadata: -1 is a dynamic dimension. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

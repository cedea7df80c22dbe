/**
 * Open Inference Protocol tensor datatypes that ONNX Runtime can execute. BF16 is part of the protocol but
 * onnxruntime-node has no bfloat16 tensor, so it is rejected with a clear 400 rather than silently converted.
 */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

export type Datatype = (typeof DATATYPES)[number];

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && (DATATYPES as readonly string[]).includes(value);
}

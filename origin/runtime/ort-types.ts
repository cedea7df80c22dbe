import type { Datatype } from '../../shared/protocol/datatypes.ts';

/** onnxruntime tensor type names for the Open Inference Protocol datatypes the origin executes. */
export type OrtTensorType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

const TO_ORT: Readonly<Record<Datatype, OrtTensorType>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const FROM_ORT: ReadonlyMap<string, Datatype> = new Map(
  Object.entries(TO_ORT).map(([datatype, ortType]) => [ortType, datatype as Datatype]),
);

export function toOrtType(datatype: Datatype): OrtTensorType {
  return TO_ORT[datatype];
}

/** The protocol datatype of an onnxruntime tensor type, or undefined when the origin cannot serve it (bfloat16, int4, ...). */
export function fromOrtType(type: string): Datatype | undefined {
  return FROM_ORT.get(type);
}

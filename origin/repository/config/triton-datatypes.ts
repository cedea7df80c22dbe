import type { Datatype } from '../../../shared/protocol/datatypes.ts';

/** config.json's `data_type` names (Triton's `TYPE_*`) and the protocol datatype each one is. */
export const TRITON_DATATYPES = {
  TYPE_BOOL: 'BOOL',
  TYPE_UINT8: 'UINT8',
  TYPE_UINT16: 'UINT16',
  TYPE_UINT32: 'UINT32',
  TYPE_UINT64: 'UINT64',
  TYPE_INT8: 'INT8',
  TYPE_INT16: 'INT16',
  TYPE_INT32: 'INT32',
  TYPE_INT64: 'INT64',
  TYPE_FP16: 'FP16',
  TYPE_FP32: 'FP32',
  TYPE_FP64: 'FP64',
  TYPE_STRING: 'BYTES',
} as const satisfies Record<string, Datatype>;

export type TritonDatatype = keyof typeof TRITON_DATATYPES;

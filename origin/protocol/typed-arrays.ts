import type { Datatype } from '../../shared/protocol/datatypes.ts';
import type { TensorData } from './tensor.ts';

/**
 * Datatype ↔ typed array mapping and element sizes.
 *
 * In-memory layout (see tensor.ts): BOOL → Uint8Array of 0/1, FP16 → Uint16Array of half bits, BYTES → string[],
 * INT64/UINT64 → BigInt64Array/BigUint64Array. Raw bytes on the wire are little-endian; this module assumes a
 * little-endian host (every platform onnxruntime-node ships for).
 */

export type FixedSizeDatatype = Exclude<Datatype, 'BYTES'>;

export const ELEMENT_BYTE_SIZE: Readonly<Record<FixedSizeDatatype, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** A zero-filled array of the datatype's in-memory type ('' for BYTES). */
export function allocateTensorData(datatype: Datatype, length: number): TensorData {
  switch (datatype) {
    case 'BOOL':
    case 'UINT8':
      return new Uint8Array(length);
    case 'INT8':
      return new Int8Array(length);
    case 'UINT16':
    case 'FP16':
      return new Uint16Array(length);
    case 'INT16':
      return new Int16Array(length);
    case 'UINT32':
      return new Uint32Array(length);
    case 'INT32':
      return new Int32Array(length);
    case 'UINT64':
      return new BigUint64Array(length);
    case 'INT64':
      return new BigInt64Array(length);
    case 'FP32':
      return new Float32Array(length);
    case 'FP64':
      return new Float64Array(length);
    case 'BYTES':
      return new Array<string>(length).fill('');
  }
}

/** True when `data` has the in-memory type `datatype` uses. */
export function isTensorDataOf(datatype: Datatype, data: TensorData): boolean {
  switch (datatype) {
    case 'BOOL':
    case 'UINT8':
      return data instanceof Uint8Array;
    case 'INT8':
      return data instanceof Int8Array;
    case 'UINT16':
    case 'FP16':
      return data instanceof Uint16Array;
    case 'INT16':
      return data instanceof Int16Array;
    case 'UINT32':
      return data instanceof Uint32Array;
    case 'INT32':
      return data instanceof Int32Array;
    case 'UINT64':
      return data instanceof BigUint64Array;
    case 'INT64':
      return data instanceof BigInt64Array;
    case 'FP32':
      return data instanceof Float32Array;
    case 'FP64':
      return data instanceof Float64Array;
    case 'BYTES':
      return Array.isArray(data);
  }
}

/** A typed-array view of `length` elements at `byteOffset` (which must be aligned to the element size). */
function viewTensorData(
  datatype: Exclude<FixedSizeDatatype, 'BOOL'>,
  buffer: ArrayBuffer,
  byteOffset: number,
  length: number,
): TensorData {
  switch (datatype) {
    case 'UINT8':
      return new Uint8Array(buffer, byteOffset, length);
    case 'INT8':
      return new Int8Array(buffer, byteOffset, length);
    case 'UINT16':
    case 'FP16':
      return new Uint16Array(buffer, byteOffset, length);
    case 'INT16':
      return new Int16Array(buffer, byteOffset, length);
    case 'UINT32':
      return new Uint32Array(buffer, byteOffset, length);
    case 'INT32':
      return new Int32Array(buffer, byteOffset, length);
    case 'UINT64':
      return new BigUint64Array(buffer, byteOffset, length);
    case 'INT64':
      return new BigInt64Array(buffer, byteOffset, length);
    case 'FP32':
      return new Float32Array(buffer, byteOffset, length);
    case 'FP64':
      return new Float64Array(buffer, byteOffset, length);
  }
}

/**
 * Little-endian raw bytes as a typed array of the datatype: a view when they are aligned to the element size,
 * else a fresh (aligned, transferable) copy; BOOL is always copied, each byte normalised to 0/1.
 */
export function tensorDataFromBytes(datatype: FixedSizeDatatype, bytes: Uint8Array): TensorData {
  const size = ELEMENT_BYTE_SIZE[datatype];
  // Aligned bytes (the usual case for a body read into its own buffer) are viewed, not copied: the batcher
  // copies each request into the batch tensor anyway, and the runtime copies views before transferring them.
  if (datatype !== 'BOOL' && bytes.byteOffset % size === 0) {
    return viewTensorData(datatype, bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
  }
  const out = allocateTensorData(datatype, bytes.byteLength / size) as Exclude<TensorData, string[]>;
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  if (datatype === 'BOOL') {
    const u8 = out as Uint8Array;
    for (let i = 0; i < u8.length; i++) if (u8[i]! > 1) u8[i] = 1;
  }
  return out;
}

/** A view (no copy) of a fixed-size tensor's raw little-endian bytes. */
export function tensorDataBytes(data: Exclude<TensorData, string[]>): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

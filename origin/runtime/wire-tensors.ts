import { AppError } from '../../shared/errors/index.ts';
import type { Tensor, TensorSpec } from '../protocol/tensor.ts';
import { fromOrtType, toOrtType } from './ort-types.ts';
import type { WireMetadata, WireTensor } from './wire.ts';

/** Conversions between the origin's tensors and their form on the session worker's wire (wire.ts). */

/** A session's declared inputs or outputs as tensor specs: symbolic dims become -1. */
export function toSpecs(list: WireMetadata[], kind: 'input' | 'output'): TensorSpec[] {
  return list.map((m) => {
    if (!m.isTensor || m.type === null) {
      throw new Error(`${kind} '${m.name}' is not a tensor (sequence and map values are not supported)`);
    }
    const datatype = fromOrtType(m.type);
    if (!datatype) throw new Error(`${kind} '${m.name}' has unsupported element type ${m.type}`);
    return {
      name: m.name,
      datatype,
      shape: m.shape.map((d) => (typeof d === 'number' && Number.isInteger(d) && d >= 0 ? d : -1)),
    };
  });
}

/**
 * An input for the worker. Its buffer joins `transfer` (MOVED to the worker, detached here afterwards) when the
 * typed array covers the whole buffer; a view into a larger buffer, or one sharing a buffer already listed, is
 * copied first so unrelated data sharing that buffer is never detached.
 */
export function toWire(tensor: Tensor, transfer: Set<ArrayBuffer>): WireTensor {
  const type = toOrtType(tensor.datatype);
  const dims = [...tensor.shape];
  if (Array.isArray(tensor.data)) return { name: tensor.name, type, dims, data: tensor.data };
  let data = tensor.data;
  const buffer = data.buffer;
  if (
    !(buffer instanceof ArrayBuffer) ||
    data.byteOffset !== 0 ||
    data.byteLength !== buffer.byteLength ||
    transfer.has(buffer)
  ) {
    data = (data as Uint8Array).slice() as typeof data;
  }
  transfer.add(data.buffer as ArrayBuffer);
  return { name: tensor.name, type, dims, data };
}

export function fromWire(t: WireTensor): Tensor {
  const datatype = fromOrtType(t.type);
  if (!datatype) {
    throw new AppError('INFERENCE_FAILED', `output '${t.name}' has unsupported element type ${t.type}`);
  }
  return { name: t.name, datatype, shape: t.dims, data: t.data };
}

import { AppError } from '../../shared/errors/index.ts';
import { type EncodedBody, encodeBinaryTensorData, encodeBody } from './binary-codec.ts';
import type { RequestedOutput } from './decode-request.ts';
import { tensorDataToJsonText } from './json-values.ts';
import { elementCount, type Tensor } from './tensor.ts';
import { isTensorDataOf } from './typed-arrays.ts';

export interface EncodeInferResponseOptions {
  modelName: string;
  modelVersion: string;
  id?: string;
  outputs: Tensor[];
  /** When given, only these outputs are returned, in this order, each with its own binary flag. */
  requested?: RequestedOutput[];
  /** Binary flag for every output when `requested` is not given. */
  binaryOutputDefault: boolean;
  parameters?: Record<string, unknown>;
}

function checkOutputTensor(t: Tensor, modelName: string): void {
  const count = elementCount(t.shape);
  if (!isTensorDataOf(t.datatype, t.data) || t.data.length !== count) {
    throw new AppError(
      'INFERENCE_FAILED',
      `model '${modelName}' produced output '${t.name}' whose data does not match ${t.datatype} [${t.shape.join(',')}]`,
    );
  }
}

/**
 * Encodes an inference response. Plain JSON (`content-type: application/json`, body a string) unless some
 * returned output is binary, in which case the body is the JSON header followed by the binary outputs' bytes in
 * output order, with `Inference-Header-Content-Length` and `content-type: application/octet-stream`.
 * JSON data is flat; NaN/±Infinity are written as null; INT64/UINT64 are numbers within ±(2^53-1), decimal
 * strings beyond; FP16 is written as floats; BOOL as true/false; BYTES as strings.
 */
export function encodeInferResponse(opts: EncodeInferResponseOptions): EncodedBody {
  const selected: { tensor: Tensor; binary: boolean }[] = [];
  if (opts.requested) {
    const byName = new Map(opts.outputs.map((t) => [t.name, t]));
    for (const r of opts.requested) {
      const tensor = byName.get(r.name);
      if (!tensor) {
        throw new AppError(
          'INFERENCE_FAILED',
          `model '${opts.modelName}' did not produce output '${r.name}'`,
        );
      }
      selected.push({ tensor, binary: r.binary });
    }
  } else {
    for (const tensor of opts.outputs) selected.push({ tensor, binary: opts.binaryOutputDefault });
  }

  const parts: string[] = [];
  const chunks: Uint8Array[] = [];
  for (const { tensor, binary } of selected) {
    checkOutputTensor(tensor, opts.modelName);
    let part = `{"name":${JSON.stringify(tensor.name)},"datatype":"${tensor.datatype}","shape":[${tensor.shape.join(',')}]`;
    if (binary) {
      const bytes = encodeBinaryTensorData(tensor);
      chunks.push(bytes);
      part += `,"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    } else {
      part += `,"data":${tensorDataToJsonText(tensor.datatype, tensor.data)}}`;
    }
    parts.push(part);
  }

  let json = `{"model_name":${JSON.stringify(opts.modelName)},"model_version":${JSON.stringify(opts.modelVersion)}`;
  if (opts.id !== undefined) json += `,"id":${JSON.stringify(opts.id)}`;
  if (opts.parameters && Object.keys(opts.parameters).length > 0) {
    json += `,"parameters":${JSON.stringify(opts.parameters)}`;
  }
  json += `,"outputs":[${parts.join(',')}]}`;

  return encodeBody(json, chunks.length === 0 ? null : chunks);
}

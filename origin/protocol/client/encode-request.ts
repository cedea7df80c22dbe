import { type EncodedBody, encodeBinaryTensorData, encodeBody } from '../binary-codec.ts';
import { tensorDataToJsonText } from '../json-values.ts';
import type { Tensor } from '../tensor.ts';

/**
 * The client side of the protocol, with the server's conventions: builds inference requests. Used by the tests
 * and the benchmark; the origin itself never sends requests.
 */

export interface EncodeInferRequestOptions {
  id?: string;
  inputs: Tensor[];
  /** Send every input's data with the binary extension (default false: JSON data). */
  binaryInputs?: boolean;
  outputs?: { name: string; binary?: boolean }[];
  parameters?: Record<string, unknown>;
}

export function encodeInferRequest(opts: EncodeInferRequestOptions): EncodedBody {
  const chunks: Uint8Array[] = [];
  const inputs = opts.inputs.map((t) => {
    const base = `{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":[${t.shape.join(',')}]`;
    if (opts.binaryInputs) {
      const bytes = encodeBinaryTensorData(t);
      chunks.push(bytes);
      return `${base},"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    }
    return `${base},"data":${tensorDataToJsonText(t.datatype, t.data)}}`;
  });
  let json = '{';
  if (opts.id !== undefined) json += `"id":${JSON.stringify(opts.id)},`;
  if (opts.parameters) json += `"parameters":${JSON.stringify(opts.parameters)},`;
  json += `"inputs":[${inputs.join(',')}]`;
  if (opts.outputs) {
    const outs = opts.outputs.map((o) =>
      o.binary === undefined ? { name: o.name } : { name: o.name, parameters: { binary_data: o.binary } },
    );
    json += `,"outputs":${JSON.stringify(outs)}`;
  }
  json += '}';
  return encodeBody(json, opts.binaryInputs ? chunks : null);
}

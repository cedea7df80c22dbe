import { AppError } from '../../../shared/errors/index.ts';
import type { Datatype } from '../../../shared/protocol/datatypes.ts';
import { floatToHalf } from '../../../shared/protocol/fp16.ts';
import { BinarySectionReader, decodeBinaryTensorData, splitBinaryBody } from '../binary-codec.ts';
import { describe } from '../describe-value.ts';
import { isPlainObject, parseJson } from '../json-body.ts';
import { jsonValuesToTensorData } from '../json-values.ts';
import { parseDatatype } from '../parse-datatype.ts';
import { parseShape } from '../parse-shape.ts';
import { elementCount, type Tensor, type TensorData } from '../tensor.ts';
import { allocateTensorData } from '../typed-arrays.ts';

/**
 * The client side of the protocol, with the server's conventions: reads inference responses (JSON or binary
 * extension) back into tensors. Used by the tests and the benchmark.
 */

export interface DecodedInferResponse {
  modelName: string;
  modelVersion: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: Tensor[];
}

function decodeResponseJsonData(datatype: Datatype, values: unknown[], what: string): TensorData {
  if (datatype !== 'FP16' && datatype !== 'FP32' && datatype !== 'FP64') {
    return jsonValuesToTensorData(datatype, values, what);
  }
  // Responses write NaN/±Infinity as null: read null back as NaN.
  const out = allocateTensorData(datatype, values.length) as Uint16Array | Float32Array | Float64Array;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && typeof v !== 'number') {
      throw new AppError(
        'INVALID_INPUT',
        `${what}: element ${i} must be a number or null, got ${describe(v)}`,
      );
    }
    const n = v === null ? Number.NaN : v;
    out[i] = datatype === 'FP16' ? floatToHalf(n) : n;
  }
  return out;
}

/** Reads an inference response (JSON or binary extension) back into tensors. */
export function decodeInferResponse(
  body: Uint8Array | string,
  headers: { inferenceHeaderContentLength?: string } = {},
): DecodedInferResponse {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  let jsonBytes = bytes;
  let reader: BinarySectionReader | undefined;
  if (headers.inferenceHeaderContentLength !== undefined) {
    const parts = splitBinaryBody(bytes, headers.inferenceHeaderContentLength);
    jsonBytes = parts.json;
    reader = new BinarySectionReader(parts.binary);
  }
  const root = parseJson(jsonBytes);
  if (!isPlainObject(root) || !Array.isArray(root['outputs'])) {
    throw new AppError('INVALID_REQUEST', 'response must be a JSON object with an outputs array');
  }
  const outputs = root['outputs'].map((o: unknown, i: number): Tensor => {
    if (!isPlainObject(o) || typeof o['name'] !== 'string') {
      throw new AppError('INVALID_REQUEST', `outputs[${i}] must be an object with a name`);
    }
    const what = `output '${o['name']}'`;
    const datatype = parseDatatype(o['datatype'], what);
    const shape = parseShape(o['shape'], what);
    const params = isPlainObject(o['parameters']) ? o['parameters'] : {};
    const size = params['binary_data_size'];
    let data: TensorData;
    if (typeof size === 'number') {
      if (!reader) throw new AppError('INVALID_REQUEST', `${what} is binary but no header length was given`);
      data = decodeBinaryTensorData(datatype, shape, reader.take(size, what), what);
    } else {
      if (!Array.isArray(o['data'])) throw new AppError('INVALID_REQUEST', `${what} has no data`);
      data = decodeResponseJsonData(datatype, o['data'], what);
      if (data.length !== elementCount(shape)) {
        throw new AppError('INVALID_REQUEST', `${what}: data length does not match its shape`);
      }
    }
    return { name: o['name'], datatype, shape, data };
  });
  reader?.finish();
  const decoded: DecodedInferResponse = {
    modelName: String(root['model_name']),
    modelVersion: String(root['model_version'] ?? ''),
    outputs,
  };
  if (typeof root['id'] === 'string') decoded.id = root['id'];
  if (isPlainObject(root['parameters'])) decoded.parameters = root['parameters'];
  return decoded;
}

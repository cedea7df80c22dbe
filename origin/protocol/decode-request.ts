import { AppError } from '../../shared/errors/index.ts';
import { BinarySectionReader, decodeBinaryTensorData, splitBinaryBody } from './binary-codec.ts';
import { describe, truncate } from './describe-value.ts';
import { checkContentType, isPlainObject, parseJson } from './json-body.ts';
import type { FlatJsonData, PreparsedJsonBody } from './json-parse/wire.ts';
import { decodeFlatData, decodeJsonData } from './json-tensor-data.ts';
import { parseDatatype } from './parse-datatype.ts';
import { parseShape } from './parse-shape.ts';
import type { Tensor, TensorData } from './tensor.ts';

/** The server side of a request: JSON (or the binary extension's JSON header and binary section) → tensors. */

/** An entry of the request's `outputs`, with its binary flag already resolved against the request default. */
export interface RequestedOutput {
  name: string;
  binary: boolean;
  /** Never set today: the classification extension is rejected at decode time with a 400. */
  classificationCount?: number;
}

export interface DecodedInferRequest {
  id?: string;
  /** Request-level parameters as sent (e.g. timeout, priority, binary_data_output). */
  parameters: Record<string, unknown>;
  inputs: Tensor[];
  /** undefined (or an empty `outputs` array on the wire) = all outputs. */
  outputs?: RequestedOutput[];
  /** Request `parameters.binary_data_output` (false when absent). */
  binaryOutputDefault: boolean;
}

export interface DecodeHeaders {
  contentType?: string;
  inferenceHeaderContentLength?: string;
}

function parseOutputs(value: unknown, binaryOutputDefault: boolean): RequestedOutput[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new AppError('INVALID_REQUEST', "request 'outputs' must be an array");
  if (value.length === 0) return undefined;
  const seen = new Set<string>();
  const outputs: RequestedOutput[] = [];
  value.forEach((entry, i) => {
    if (!isPlainObject(entry)) throw new AppError('INVALID_REQUEST', `outputs[${i}] must be an object`);
    const name = entry['name'];
    if (typeof name !== 'string' || name === '') {
      throw new AppError('INVALID_REQUEST', `outputs[${i}]: name must be a non-empty string`);
    }
    const what = `output '${truncate(name, 64)}'`;
    if (seen.has(name)) throw new AppError('INVALID_REQUEST', `${what} is requested more than once`);
    seen.add(name);
    const params = entry['parameters'];
    let binary = binaryOutputDefault;
    if (params !== undefined) {
      if (!isPlainObject(params))
        throw new AppError('INVALID_REQUEST', `${what}: parameters must be an object`);
      const b = params['binary_data'];
      if (b !== undefined) {
        if (typeof b !== 'boolean') {
          throw new AppError('INVALID_REQUEST', `${what}: parameters.binary_data must be a boolean`);
        }
        binary = b;
      }
      if (params['classification'] !== undefined) {
        throw new AppError('INVALID_REQUEST', `${what}: the classification extension is not supported`);
      }
      if (params['shared_memory_region'] !== undefined) {
        throw new AppError('INVALID_REQUEST', `${what}: the shared memory extension is not supported`);
      }
    }
    outputs.push({ name, binary });
  });
  return outputs;
}

/**
 * Decodes an inference request body: plain JSON, or — when `inferenceHeaderContentLength` is given — the binary
 * tensor data extension (JSON header, then each binary input's bytes in input order). Every problem is an
 * AppError (4xx) whose message names the offending input; nothing else is ever thrown.
 */
export function decodeInferRequest(body: Uint8Array, headers: DecodeHeaders = {}): DecodedInferRequest {
  checkContentType(headers.contentType);
  let jsonBytes = body;
  let reader: BinarySectionReader | undefined;
  if (headers.inferenceHeaderContentLength !== undefined) {
    const parts = splitBinaryBody(body, headers.inferenceHeaderContentLength);
    jsonBytes = parts.json;
    reader = new BinarySectionReader(parts.binary);
  }
  return decodeRoot(parseJson(jsonBytes), reader, []);
}

/**
 * `decodeInferRequest` for a plain JSON body already parsed off the main thread: the same checks, results and
 * error messages, without the parse.
 */
export function decodePreparsedInferRequest(
  body: PreparsedJsonBody,
  headers: Pick<DecodeHeaders, 'contentType'> = {},
): DecodedInferRequest {
  checkContentType(headers.contentType);
  return decodeRoot(body.root, undefined, body.flats);
}

function decodeRoot(
  root: unknown,
  reader: BinarySectionReader | undefined,
  flats: ReadonlyArray<FlatJsonData | null>,
): DecodedInferRequest {
  if (!isPlainObject(root)) throw new AppError('INVALID_REQUEST', 'request body must be a JSON object');

  const id = root['id'];
  if (id !== undefined && typeof id !== 'string') {
    throw new AppError('INVALID_REQUEST', `request 'id' must be a string, got ${describe(id)}`);
  }

  const rawParams = root['parameters'];
  if (rawParams !== undefined && !isPlainObject(rawParams)) {
    throw new AppError('INVALID_REQUEST', "request 'parameters' must be an object");
  }
  const parameters = rawParams ?? {};
  const binaryOutput = parameters['binary_data_output'];
  if (binaryOutput !== undefined && typeof binaryOutput !== 'boolean') {
    throw new AppError('INVALID_REQUEST', 'request parameters.binary_data_output must be a boolean');
  }
  const binaryOutputDefault = binaryOutput ?? false;

  const rawInputs = root['inputs'];
  if (!Array.isArray(rawInputs) || rawInputs.length === 0) {
    throw new AppError('INVALID_REQUEST', "request must have a non-empty 'inputs' array");
  }
  const seen = new Set<string>();
  const inputs: Tensor[] = [];
  rawInputs.forEach((entry, i) => {
    if (!isPlainObject(entry)) throw new AppError('INVALID_INPUT', `inputs[${i}] must be an object`);
    const name = entry['name'];
    if (typeof name !== 'string' || name === '') {
      throw new AppError('INVALID_INPUT', `inputs[${i}]: name must be a non-empty string`);
    }
    const what = `input '${truncate(name, 64)}'`;
    if (seen.has(name)) throw new AppError('INVALID_INPUT', `${what} appears more than once`);
    seen.add(name);
    const datatype = parseDatatype(entry['datatype'], what);
    const shape = parseShape(entry['shape'], what);
    const params = entry['parameters'];
    if (params !== undefined && !isPlainObject(params)) {
      throw new AppError('INVALID_INPUT', `${what}: parameters must be an object`);
    }
    if (params?.['shared_memory_region'] !== undefined) {
      throw new AppError('INVALID_INPUT', `${what}: the shared memory extension is not supported`);
    }
    const binarySize = params?.['binary_data_size'];
    let data: TensorData;
    if (binarySize !== undefined) {
      if (typeof binarySize !== 'number' || !Number.isSafeInteger(binarySize) || binarySize < 0) {
        throw new AppError(
          'INVALID_INPUT',
          `${what}: parameters.binary_data_size must be a non-negative integer, got ${describe(binarySize)}`,
        );
      }
      if (entry['data'] !== undefined) {
        throw new AppError('INVALID_INPUT', `${what}: has both data and parameters.binary_data_size`);
      }
      if (!reader) {
        throw new AppError(
          'INVALID_INPUT',
          `${what}: has parameters.binary_data_size but the request has no Inference-Header-Content-Length header`,
        );
      }
      data = decodeBinaryTensorData(datatype, shape, reader.take(binarySize, what), what);
    } else {
      if (entry['data'] === undefined) {
        throw new AppError('INVALID_INPUT', `${what}: has neither data nor parameters.binary_data_size`);
      }
      const flat = flats[i];
      data = flat
        ? decodeFlatData(datatype, shape, flat, what)
        : decodeJsonData(datatype, shape, entry['data'], what);
    }
    inputs.push({ name, datatype, shape, data });
  });
  reader?.finish();

  const outputs = parseOutputs(root['outputs'], binaryOutputDefault);
  const decoded: DecodedInferRequest = { parameters, inputs, binaryOutputDefault };
  if (id !== undefined) decoded.id = id;
  if (outputs !== undefined) decoded.outputs = outputs;
  return decoded;
}

import { AppError } from '../../shared/errors/index.ts';
import type { Datatype } from '../../shared/protocol/datatypes.ts';
import {
  assembleBinaryBody,
  BINARY_CONTENT_TYPE,
  BinarySectionReader,
  decodeBinaryTensorData,
  encodeBinaryTensorData,
  INFERENCE_HEADER_CONTENT_LENGTH,
  splitBinaryBody,
} from './binary-codec.ts';
import {
  allocateTensorData,
  describe,
  floatToHalf,
  isTensorDataOf,
  jsonValuesToTensorData,
  parseDatatype,
  tensorDataToJsonText,
  truncate,
  writeJsonValues,
} from './datatype-arrays.ts';
import { elementCount, type Tensor, type TensorData } from './tensor.ts';
import type {
  DecodedInferRequest,
  DecodeHeaders,
  EncodedInferResponse,
  EncodeInferResponseOptions,
  RequestedOutput,
} from './types.ts';

export type {
  DecodedInferRequest,
  DecodeHeaders,
  EncodedInferResponse,
  EncodeInferResponseOptions,
  RequestedOutput,
} from './types.ts';

/** Deepest tensor rank accepted on the wire (bounds recursion over nested data). */
export const MAX_RANK = 64;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Media types an inference body may be labelled with. Triton ignores the header entirely; we accept what real
 * clients send (curl -d sends x-www-form-urlencoded) and refuse types that are clearly something else.
 */
const ACCEPTED_MEDIA_TYPES = new Set([
  'application/json',
  'text/json',
  'text/plain',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
]);

function checkContentType(contentType: string | undefined): void {
  if (contentType === undefined) return;
  const media = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (media === '' || ACCEPTED_MEDIA_TYPES.has(media) || media.endsWith('+json')) return;
  throw new AppError(
    'UNSUPPORTED_MEDIA_TYPE',
    `unsupported content-type '${truncate(media, 64)}': send application/json, or application/octet-stream with Inference-Header-Content-Length`,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
  } catch {
    throw new AppError('INVALID_JSON', 'request body is not valid JSON: it is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new AppError('INVALID_JSON', `request body is not valid JSON: ${truncate(message, 200)}`);
  }
}

function parseShape(value: unknown, what: string): number[] {
  if (!Array.isArray(value)) {
    throw new AppError('INVALID_INPUT', `${what}: shape must be an array of non-negative integers`);
  }
  if (value.length > MAX_RANK) {
    throw new AppError('INVALID_INPUT', `${what}: shape has rank ${value.length}, more than ${MAX_RANK}`);
  }
  for (const d of value) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new AppError(
        'INVALID_INPUT',
        `${what}: shape must be an array of non-negative integers, got ${describe(d)} in it`,
      );
    }
  }
  return value as number[];
}

/** Flat or nested (rectangular, row-major, matching `shape`) JSON data → typed array. */
function decodeJsonData(datatype: Datatype, shape: number[], data: unknown, what: string): TensorData {
  if (!Array.isArray(data)) {
    throw new AppError('INVALID_INPUT', `${what}: data must be an array, got ${describe(data)}`);
  }
  const count = elementCount(shape);
  if (data.length === 0 || !Array.isArray(data[0])) {
    if (data.length !== count) throw lengthMismatch(what, data.length, shape, count);
    return jsonValuesToTensorData(datatype, data, what);
  }
  // Nested: its dimensions (followed down the first elements) must be exactly the shape.
  const dims: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level) && dims.length <= shape.length) {
    dims.push(level.length);
    level = level[0];
  }
  if (!sameDims(dims, shape)) throw nestedShapeMismatch(what, dims, Array.isArray(level), shape);
  const rank = shape.length;
  // Check the whole structure before allocating: the shape alone must not size an allocation.
  const check = (node: unknown, depth: number): void => {
    const expected = shape[depth]!;
    if (!Array.isArray(node) || node.length !== expected) {
      throw new AppError(
        'INVALID_INPUT',
        `${what}: nested data is not rectangular: expected an array of ${expected} at depth ${depth}, got ${Array.isArray(node) ? `an array of ${node.length}` : describe(node)}`,
      );
    }
    if (depth < rank - 1) for (const child of node) check(child, depth + 1);
  };
  check(data, 0);
  const out = allocateTensorData(datatype, count);
  let offset = 0;
  const fill = (node: unknown[], depth: number): void => {
    if (depth === rank - 1) {
      writeJsonValues(datatype, node, out, offset, what);
      offset += node.length;
      return;
    }
    for (const child of node) fill(child as unknown[], depth + 1);
  };
  fill(data, 0);
  return out;
}

/** decodeJsonData for data the worker flattened: the same shape checks and element errors. */
function decodeFlatData(datatype: Datatype, shape: number[], flat: FlatJsonData, what: string): TensorData {
  const count = elementCount(shape);
  if (flat.dims === null) {
    if (flat.values.length !== count) throw lengthMismatch(what, flat.values.length, shape, count);
  } else if (!sameDims(flat.dims, shape)) {
    // As decodeJsonData reports it: followed down at most one level past the shape.
    const shown = flat.dims.slice(0, shape.length + 1);
    throw nestedShapeMismatch(what, shown, flat.dims.length > shown.length, shape);
  }
  return jsonValuesToTensorData(datatype, flat.values, what);
}

function sameDims(dims: readonly number[], shape: readonly number[]): boolean {
  return dims.length === shape.length && dims.every((d, i) => d === shape[i]);
}

function lengthMismatch(what: string, length: number, shape: number[], count: number): AppError {
  return new AppError(
    'INVALID_INPUT',
    `${what}: data has ${length} elements but shape [${shape.join(',')}] implies ${count}`,
  );
}

function nestedShapeMismatch(what: string, dims: number[], deeper: boolean, shape: number[]): AppError {
  return new AppError(
    'INVALID_INPUT',
    `${what}: nested data has shape [${dims.join(',')}${deeper ? ',…' : ''}] but shape is [${shape.join(',')}]`,
  );
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

/** One input's numeric data, flattened off the main thread (json-parse-worker.mjs). */
export interface FlatJsonData {
  /** The nested data's dimensions; null when the data was a flat array. */
  dims: number[] | null;
  values: Float64Array;
}

/** A JSON body parsed off the main thread: the JSON, with flattened inputs' data in `flats` (by input index). */
export interface PreparsedJsonBody {
  root: unknown;
  flats: ReadonlyArray<FlatJsonData | null>;
}

/** The JSON-body error parseJson would have raised, for a parse that failed off the main thread. */
export function jsonParseError(kind: 'utf8' | 'json', message: string): AppError {
  return kind === 'utf8'
    ? new AppError('INVALID_JSON', 'request body is not valid JSON: it is not valid UTF-8')
    : new AppError('INVALID_JSON', `request body is not valid JSON: ${truncate(message, 200)}`);
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
export function encodeInferResponse(opts: EncodeInferResponseOptions): EncodedInferResponse {
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

  if (chunks.length === 0) return { body: json, headers: { 'content-type': 'application/json' } };
  const { body, headerLength } = assembleBinaryBody(json, chunks);
  return {
    body,
    headers: { 'content-type': BINARY_CONTENT_TYPE, [INFERENCE_HEADER_CONTENT_LENGTH]: String(headerLength) },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Client side (tests, bench, the edge): build requests and read responses with the same conventions.

export interface EncodeInferRequestOptions {
  id?: string;
  inputs: Tensor[];
  /** Send every input's data with the binary extension (default false: JSON data). */
  binaryInputs?: boolean;
  outputs?: { name: string; binary?: boolean }[];
  parameters?: Record<string, unknown>;
}

/** Same shape as an encoded response: a string body for JSON, bytes plus header length for binary. */
export type EncodedInferRequest = EncodedInferResponse;

export function encodeInferRequest(opts: EncodeInferRequestOptions): EncodedInferRequest {
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
  if (!opts.binaryInputs) return { body: json, headers: { 'content-type': 'application/json' } };
  const { body, headerLength } = assembleBinaryBody(json, chunks);
  return {
    body,
    headers: { 'content-type': BINARY_CONTENT_TYPE, [INFERENCE_HEADER_CONTENT_LENGTH]: String(headerLength) },
  };
}

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

import { concatBytes } from '../../shared/bytes.ts';
import { AppError } from '../../shared/errors/index.ts';
import type { Datatype } from '../../shared/protocol/datatypes.ts';
import { elementCount, type Tensor, type TensorData } from './tensor.ts';
import { ELEMENT_BYTE_SIZE, tensorDataBytes, tensorDataFromBytes } from './typed-arrays.ts';

/**
 * The Open Inference Protocol binary tensor data extension (Triton's `binary_data`): a body is a JSON header of
 * `Inference-Header-Content-Length` bytes followed by raw tensor bytes, in tensor order, each tensor taking its
 * `parameters.binary_data_size` bytes. Fixed-size elements are little-endian; BOOL is one byte per element;
 * BYTES elements are a 4-byte little-endian length followed by that many bytes (UTF-8 here, since BYTES tensors
 * are onnxruntime string tensors, i.e. JS strings).
 */

export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';
const BINARY_CONTENT_TYPE = 'application/octet-stream';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * Splits a body by its `Inference-Header-Content-Length` value. The value must be a decimal integer between 1
 * and the body length.
 */
export function splitBinaryBody(
  body: Uint8Array,
  headerLength: string,
): { json: Uint8Array; binary: Uint8Array } {
  const trimmed = headerLength.trim();
  if (!/^\d{1,15}$/.test(trimmed)) {
    throw new AppError(
      'INVALID_REQUEST',
      `Inference-Header-Content-Length must be a non-negative integer, got '${trimmed.slice(0, 20)}'`,
    );
  }
  const n = Number(trimmed);
  if (n < 1 || n > body.byteLength) {
    throw new AppError(
      'INVALID_REQUEST',
      `Inference-Header-Content-Length ${n} is out of range for a body of ${body.byteLength} bytes`,
    );
  }
  return { json: body.subarray(0, n), binary: body.subarray(n) };
}

/** Reads consecutive tensors' bytes from the binary section, checking sizes against what is left. */
export class BinarySectionReader {
  #offset = 0;
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  take(size: number, what: string): Uint8Array {
    const left = this.#bytes.byteLength - this.#offset;
    if (size > left) {
      throw new AppError(
        'INVALID_INPUT',
        `${what}: binary_data_size ${size} extends past the end of the body (${left} bytes of binary data left)`,
      );
    }
    const out = this.#bytes.subarray(this.#offset, this.#offset + size);
    this.#offset += size;
    return out;
  }

  /** Throws when bytes are left over after every binary tensor took its share. */
  finish(): void {
    const left = this.#bytes.byteLength - this.#offset;
    if (left !== 0) {
      throw new AppError(
        'INVALID_INPUT',
        `request has ${left} bytes of binary data beyond the inputs' binary_data_size total of ${this.#offset}`,
      );
    }
  }
}

/** Parses BYTES elements (4-byte LE length + bytes each) and checks their count. */
function decodeBytesElements(bytes: Uint8Array, expectedCount: number, what: string): string[] {
  const out: string[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.byteLength) {
    if (out.length >= expectedCount) {
      throw new AppError(
        'INVALID_INPUT',
        `${what}: binary data holds more than the ${expectedCount} BYTES elements its shape implies`,
      );
    }
    if (offset + 4 > bytes.byteLength) {
      throw new AppError(
        'INVALID_INPUT',
        `${what}: BYTES element ${out.length} has a truncated length prefix`,
      );
    }
    const len = view.getUint32(offset, true);
    offset += 4;
    if (offset + len > bytes.byteLength) {
      throw new AppError(
        'INVALID_INPUT',
        `${what}: BYTES element ${out.length} declares ${len} bytes but only ${bytes.byteLength - offset} remain`,
      );
    }
    try {
      out.push(utf8Decoder.decode(bytes.subarray(offset, offset + len)));
    } catch {
      throw new AppError('INVALID_INPUT', `${what}: BYTES element ${out.length} is not valid UTF-8`);
    }
    offset += len;
  }
  if (out.length !== expectedCount) {
    throw new AppError(
      'INVALID_INPUT',
      `${what}: binary data holds ${out.length} BYTES elements but shape implies ${expectedCount}`,
    );
  }
  return out;
}

/** BYTES elements → 4-byte LE length prefix + UTF-8 bytes each. */
function encodeBytesElements(values: readonly string[]): Uint8Array {
  const encoded = values.map((s) => utf8Encoder.encode(s));
  let total = 0;
  for (const e of encoded) total += 4 + e.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const e of encoded) {
    view.setUint32(offset, e.byteLength, true);
    out.set(e, offset + 4);
    offset += 4 + e.byteLength;
  }
  return out;
}

/**
 * Decodes one tensor's binary data, checking its size against the shape: fixed-size datatypes need exactly
 * elementCount × element size bytes; BYTES must parse into exactly elementCount elements. Aligned bytes are
 * viewed in place (see tensorDataFromBytes).
 */
export function decodeBinaryTensorData(
  datatype: Datatype,
  shape: readonly number[],
  bytes: Uint8Array,
  what: string,
): TensorData {
  const count = elementCount(shape);
  if (datatype === 'BYTES') return decodeBytesElements(bytes, count, what);
  const size = ELEMENT_BYTE_SIZE[datatype];
  const expected = count * size;
  if (bytes.byteLength !== expected) {
    throw new AppError(
      'INVALID_INPUT',
      `${what}: binary_data_size ${bytes.byteLength} does not match shape [${shape.join(',')}] of ${datatype} (expects ${expected} bytes)`,
    );
  }
  return tensorDataFromBytes(datatype, bytes);
}

/** A tensor's raw wire bytes: a view for fixed-size datatypes, a new buffer for BYTES. */
export function encodeBinaryTensorData(tensor: Tensor): Uint8Array {
  if (tensor.datatype === 'BYTES') return encodeBytesElements(tensor.data as string[]);
  return tensorDataBytes(tensor.data as Exclude<TensorData, string[]>);
}

/** A request or response body as sent, with the headers that describe it. */
export interface EncodedBody {
  /** A string for plain JSON; bytes when any tensor uses the binary extension. */
  body: Uint8Array | string;
  headers: Record<string, string>;
}

/**
 * Plain JSON when `binary` is null; else the JSON header followed by the binary tensors' bytes, with
 * `Inference-Header-Content-Length` and `content-type: application/octet-stream`.
 */
export function encodeBody(json: string, binary: readonly Uint8Array[] | null): EncodedBody {
  if (binary === null) return { body: json, headers: { 'content-type': 'application/json' } };
  const header = utf8Encoder.encode(json);
  return {
    body: concatBytes([header, ...binary]),
    headers: {
      'content-type': BINARY_CONTENT_TYPE,
      [INFERENCE_HEADER_CONTENT_LENGTH]: String(header.byteLength),
    },
  };
}

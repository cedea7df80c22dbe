import { concatBytes } from './bytes.ts';
import { floatToHalf } from './protocol/fp16.ts';

/**
 * The canonical response-cache key of an inference request: SHA-256 over a serialisation that is the same for
 * every request that must get the same answer, and different for every request that may not. The key is
 * `SHA-256(cacheKeyMaterial(scope, SHA-256(canonicalBodyMaterial(body))))`, hashed synchronously by the edge
 * (workers/cache/lookup.ts, through shared/sha256-sync.ts) so its Redis read leaves in the same tick as the rate
 * limiter's; the body digest is computed once per distinct body and reused.
 *
 * Covered: the tenant (left out when the model is shareable, so one answer serves every tenant), model, the
 * resolved version (`latest` when none was asked for), each input's name, datatype, shape, parameters and
 * data, the requested outputs with their parameters, and the request parameters except `priority` and
 * `timeout` (scheduling only). The request `id` is left out: it is echoed, not computed, and the cache
 * rewrites it per caller. Inputs are sorted by name (their order does not change the answer); outputs keep
 * their order (it is the order of the response).
 *
 * Data is hashed as the bytes the binary tensor extension would carry: nested or flat JSON, and JSON or
 * binary bodies, of the same tensor give the same key. Data that cannot be converted (a value the origin
 * will refuse) is hashed as canonical JSON under a different tag, so it still never collides with valid data.
 */

/** What a cache key covers besides the body. */
export interface CacheKeyScope {
  tenantId: string | null;
  shareable: boolean;
  model: string;
  version: string | null;
}

/** Request parameters that only steer scheduling: two requests differing only in these get the same answer. */
const IGNORED_REQUEST_PARAMETERS: readonly string[] = ['priority', 'timeout'];

const encoder = new TextEncoder();

/** JSON with object keys sorted at every level, so key order on the wire does not change the hash. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => stableStringify(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function without(obj: unknown, keys: readonly string[]): Record<string, unknown> {
  if (!isRecord(obj)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!keys.includes(k)) out[k] = v;
  return out;
}

function flatten(value: unknown, out: unknown[]): void {
  if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else out.push(value);
}

const INT_RANGES: Record<string, [number, number, number]> = {
  // datatype: [bytes, min, max]
  UINT8: [1, 0, 0xff],
  INT8: [1, -0x80, 0x7f],
  UINT16: [2, 0, 0xffff],
  INT16: [2, -0x8000, 0x7fff],
  UINT32: [4, 0, 0xffffffff],
  INT32: [4, -0x80000000, 0x7fffffff],
};

function toBigInt(v: unknown): bigint | null {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  return null;
}

/** Little-endian bytes of JSON tensor values, or null when a value does not fit the datatype. */
export function jsonTensorBytes(datatype: string, data: unknown): Uint8Array | null {
  const values: unknown[] = [];
  flatten(data, values);
  if (datatype === 'BYTES') {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const v of values) {
      if (typeof v !== 'string') return null;
      const bytes = encoder.encode(v);
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, bytes.length, true);
      parts.push(len, bytes);
      total += 4 + bytes.length;
    }
    return concatBytes(parts, total);
  }
  const size =
    datatype === 'BOOL'
      ? 1
      : datatype === 'FP16'
        ? 2
        : datatype === 'FP32'
          ? 4
          : datatype === 'FP64' || datatype === 'INT64' || datatype === 'UINT64'
            ? 8
            : INT_RANGES[datatype]?.[0];
  if (size === undefined) return null;
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const at = i * size;
    if (datatype === 'BOOL') {
      if (typeof v !== 'boolean') return null;
      view.setUint8(at, v ? 1 : 0);
    } else if (datatype === 'FP16' || datatype === 'FP32' || datatype === 'FP64') {
      if (typeof v !== 'number') return null;
      if (datatype === 'FP16') view.setUint16(at, floatToHalf(v), true);
      else if (datatype === 'FP32') view.setFloat32(at, v, true);
      else view.setFloat64(at, v, true);
    } else if (datatype === 'INT64' || datatype === 'UINT64') {
      const b = toBigInt(v);
      if (b === null) return null;
      if (datatype === 'INT64') {
        if (b < -(2n ** 63n) || b >= 2n ** 63n) return null;
        view.setBigInt64(at, b, true);
      } else {
        if (b < 0n || b >= 2n ** 64n) return null;
        view.setBigUint64(at, b, true);
      }
    } else {
      const [bytes, min, max] = INT_RANGES[datatype]!;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return null;
      if (bytes === 1) view.setUint8(at, v & 0xff);
      else if (bytes === 2) view.setUint16(at, v & 0xffff, true);
      else view.setUint32(at, v >>> 0, true);
    }
  }
  return out;
}

interface CanonicalInput {
  meta: string;
  data: Uint8Array;
}

/**
 * Splits a binary section by each input's `binary_data_size`, in request order. Null when the sizes do not
 * add up: the origin refuses such a body, and the key then covers the whole section as one blob.
 */
function binarySlices(inputs: unknown[], binary: Uint8Array): (Uint8Array | null)[] | null {
  let offset = 0;
  const slices: (Uint8Array | null)[] = [];
  for (const input of inputs) {
    const size =
      isRecord(input) && isRecord(input.parameters) ? input.parameters.binary_data_size : undefined;
    if (size === undefined) {
      slices.push(null);
      continue;
    }
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || offset + size > binary.length) {
      return null;
    }
    slices.push(binary.subarray(offset, offset + size));
    offset += size;
  }
  return offset === binary.length ? slices : null;
}

function canonicalInputs(request: Record<string, unknown>, binary: Uint8Array | null): CanonicalInput[] {
  const inputs = Array.isArray(request.inputs) ? request.inputs : [];
  const slices = binary ? binarySlices(inputs, binary) : null;
  const out = inputs.map((input, i): CanonicalInput => {
    const rec = isRecord(input) ? input : {};
    const datatype = typeof rec.datatype === 'string' ? rec.datatype : '';
    const slice = slices?.[i] ?? null;
    let data: Uint8Array;
    let tag: string;
    if (slice) {
      data = slice;
      tag = 'bytes';
    } else {
      const bytes = rec.data === undefined ? null : jsonTensorBytes(datatype, rec.data);
      data = bytes ?? encoder.encode(stableStringify(rec.data ?? null));
      tag = bytes ? 'bytes' : 'json';
    }
    const meta = stableStringify({
      name: rec.name ?? null,
      datatype,
      shape: rec.shape ?? null,
      parameters: without(rec.parameters, ['binary_data_size']),
      extra: without(rec, ['name', 'datatype', 'shape', 'parameters', 'data']),
      tag,
    });
    return { meta, data };
  });
  out.sort((a, b) => (a.meta < b.meta ? -1 : a.meta > b.meta ? 1 : 0));
  if (binary && !slices) out.push({ meta: '"unsplit-binary"', data: binary });
  return out;
}

function lengthPrefixed(chunks: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const bytes of chunks) {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(bytes.length), true);
    parts.push(len, bytes);
    total += 8 + bytes.length;
  }
  return concatBytes(parts, total);
}

/**
 * The body's share of the key, independent of tenant, model and version: a JSON preamble (outputs, request
 * parameters, unknown fields), then each input's metadata and data, length-prefixed. The edge hashes this once
 * per distinct body and reuses the digest for every request with the same bytes.
 */
export function canonicalBodyMaterial(request: unknown, binary: Uint8Array | null): Uint8Array {
  const rec = isRecord(request) ? request : {};
  const preamble = stableStringify({
    outputs: Array.isArray(rec.outputs) ? rec.outputs : [],
    parameters: without(rec.parameters, IGNORED_REQUEST_PARAMETERS),
    extra: without(rec, ['id', 'inputs', 'outputs', 'parameters']),
  });
  const chunks: Uint8Array[] = [encoder.encode(preamble)];
  for (const c of canonicalInputs(rec, binary)) chunks.push(encoder.encode(c.meta), c.data);
  return lengthPrefixed(chunks);
}

/** The bytes the key hashes: the scope (tenant unless shareable, model, resolved version) and the body digest. */
export function cacheKeyMaterial(scope: CacheKeyScope, bodyDigestHex: string): Uint8Array {
  // JSON-quoted fields on their own lines: no value can run into the next one.
  const tenant = scope.shareable || scope.tenantId === null ? 'null' : JSON.stringify(scope.tenantId);
  return encoder.encode(
    `aiserve-cache-key:2\n${tenant}\n${JSON.stringify(scope.model)}\n${JSON.stringify(scope.version ?? 'latest')}\n${bodyDigestHex}`,
  );
}

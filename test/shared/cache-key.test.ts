import { describe, expect, it } from 'vitest';
import {
  cacheKeyMaterial,
  canonicalBodyMaterial,
  computeCacheKey,
  jsonTensorBytes,
  stableStringify,
} from '../../shared/cache-key.ts';
import { sha256HexSync } from '../../shared/sha256-sync.ts';

const base = {
  tenantId: 'tenant-a',
  shareable: false,
  model: 'm',
  version: null,
  binary: null,
};

function req(data: unknown, extra: Record<string, unknown> = {}) {
  return { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data }], ...extra };
}

describe('computeCacheKey', () => {
  it('hashes nested and flat JSON data of the same tensor to the same key', async () => {
    const a = await computeCacheKey({ ...base, request: req([[1, 2]]) });
    const b = await computeCacheKey({ ...base, request: req([1, 2]) });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(b);
  });

  it('gives different keys for different data, shape, datatype, model, version and outputs', async () => {
    const k = await computeCacheKey({ ...base, request: req([1, 2]) });
    const variants = await Promise.all([
      computeCacheKey({ ...base, request: req([1, 3]) }),
      computeCacheKey({
        ...base,
        request: { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 1], data: [1, 2] }] },
      }),
      computeCacheKey({
        ...base,
        request: { inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 2], data: [1, 2] }] },
      }),
      computeCacheKey({ ...base, model: 'n', request: req([1, 2]) }),
      computeCacheKey({ ...base, version: '2', request: req([1, 2]) }),
      computeCacheKey({ ...base, request: req([1, 2], { outputs: [{ name: 'y' }] }) }),
      computeCacheKey({ ...base, request: req([1, 2], { parameters: { binary_data_output: true } }) }),
    ]);
    expect(new Set([k, ...variants]).size).toBe(variants.length + 1);
  });

  it('treats an unversioned request as version "latest"', async () => {
    const a = await computeCacheKey({ ...base, request: req([1, 2]) });
    const b = await computeCacheKey({ ...base, version: 'latest', request: req([1, 2]) });
    expect(a).toBe(b);
  });

  it('scopes keys to the tenant unless the model is shareable', async () => {
    const a = await computeCacheKey({ ...base, request: req([1, 2]) });
    const b = await computeCacheKey({ ...base, tenantId: 'tenant-b', request: req([1, 2]) });
    expect(a).not.toBe(b);
    const sa = await computeCacheKey({ ...base, shareable: true, request: req([1, 2]) });
    const sb = await computeCacheKey({
      ...base,
      shareable: true,
      tenantId: 'tenant-b',
      request: req([1, 2]),
    });
    expect(sa).toBe(sb);
    expect(sa).not.toBe(a);
  });

  it('ignores id, priority, timeout, key order and input order', async () => {
    const two = (first: string) => {
      const inputs = [
        { name: 'a', datatype: 'INT32', shape: [1], data: [1] },
        { name: 'b', datatype: 'INT32', shape: [1], data: [2] },
      ];
      return first === 'a' ? inputs : [...inputs].reverse();
    };
    const a = await computeCacheKey({
      ...base,
      request: { id: 'one', inputs: two('a'), parameters: { priority: 1, timeout: 100, z: 1, y: 2 } },
    });
    const b = await computeCacheKey({
      ...base,
      request: { parameters: { y: 2, z: 1 }, inputs: two('b'), id: 'two' },
    });
    expect(a).toBe(b);
    const c = await computeCacheKey({ ...base, request: { inputs: two('a'), parameters: { y: 2, z: 2 } } });
    expect(c).not.toBe(a);
  });

  it('hashes a binary body like the equivalent JSON body', async () => {
    const bytes = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const json = await computeCacheKey({ ...base, request: req([1.5, -2]) });
    const binary = await computeCacheKey({
      ...base,
      request: {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } }],
      },
      binary: bytes,
    });
    expect(binary).toBe(json);
    const other = await computeCacheKey({
      ...base,
      request: {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } }],
      },
      binary: new Uint8Array(new Float32Array([1.5, -3]).buffer),
    });
    expect(other).not.toBe(json);
  });

  it('keeps data the origin would refuse distinct from valid data that looks alike', async () => {
    const valid = await computeCacheKey({ ...base, request: req([1, 2]) });
    const strings = await computeCacheKey({ ...base, request: req(['1', '2']) });
    expect(strings).not.toBe(valid);
  });
});

describe('jsonTensorBytes', () => {
  it('encodes each datatype as little-endian tensor bytes', () => {
    expect([...jsonTensorBytes('INT16', [[-1, 2]])!]).toEqual([0xff, 0xff, 2, 0]);
    expect([...jsonTensorBytes('BOOL', [true, false])!]).toEqual([1, 0]);
    expect([...jsonTensorBytes('FP16', [1])!]).toEqual([0x00, 0x3c]);
    expect([...jsonTensorBytes('INT64', ['-2'])!]).toEqual([0xfe, 255, 255, 255, 255, 255, 255, 255]);
    expect([...jsonTensorBytes('BYTES', ['hi'])!]).toEqual([2, 0, 0, 0, 104, 105]);
  });

  it('returns null for values that do not fit the datatype', () => {
    expect(jsonTensorBytes('UINT8', [256])).toBeNull();
    expect(jsonTensorBytes('INT32', [1.5])).toBeNull();
    expect(jsonTensorBytes('BOOL', [1])).toBeNull();
    expect(jsonTensorBytes('NOPE', [1])).toBeNull();
  });
});

describe('stableStringify', () => {
  it('sorts keys at every level', () => {
    expect(stableStringify({ b: 1, a: { d: [1, { f: 1, e: 2 }], c: 2 } })).toBe(
      '{"a":{"c":2,"d":[1,{"e":2,"f":1}]},"b":1}',
    );
  });
});

describe("the edge's synchronous key derivation", () => {
  it('gives the same key as computeCacheKey (WebCrypto), for JSON and binary bodies', async () => {
    const binary = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const cases = [
      { ...base, request: req([1, 2], { id: 'x', parameters: { a: 1 } }) },
      { ...base, shareable: true, version: '3', request: req([[1, 2]]) },
      {
        ...base,
        binary,
        request: {
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } }],
        },
      },
    ];
    for (const input of cases) {
      const body = sha256HexSync(canonicalBodyMaterial(input.request, input.binary));
      expect(sha256HexSync(cacheKeyMaterial(input, body))).toBe(await computeCacheKey(input));
    }
  });
});

import { describe, expect, it } from 'vitest';
import {
  type CacheKeyScope,
  cacheKeyMaterial,
  canonicalBodyMaterial,
  jsonTensorBytes,
  stableStringify,
} from '../../shared/cache-key.ts';
import { sha256HexSync } from '../../shared/sha256-sync.ts';

type KeyedRequest = CacheKeyScope & { request: unknown; binary: Uint8Array | null };

/** The key as the edge derives it (workers/cache/lookup.ts): the scope, then the digest of the body's material. */
function cacheKey(input: KeyedRequest): string {
  return sha256HexSync(
    cacheKeyMaterial(input, sha256HexSync(canonicalBodyMaterial(input.request, input.binary))),
  );
}

/** The same derivation through WebCrypto's SHA-256, independent of node:crypto. */
async function webCryptoKey(input: KeyedRequest): Promise<string> {
  const hex = async (bytes: Uint8Array) =>
    Buffer.from(await crypto.subtle.digest('SHA-256', new Uint8Array(bytes))).toString('hex');
  return hex(cacheKeyMaterial(input, await hex(canonicalBodyMaterial(input.request, input.binary))));
}

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

describe('the cache key', () => {
  it('hashes nested and flat JSON data of the same tensor to the same key', () => {
    const a = cacheKey({ ...base, request: req([[1, 2]]) });
    const b = cacheKey({ ...base, request: req([1, 2]) });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(b);
  });

  it('gives different keys for different data, shape, datatype, model, version and outputs', () => {
    const k = cacheKey({ ...base, request: req([1, 2]) });
    const variants = [
      cacheKey({ ...base, request: req([1, 3]) }),
      cacheKey({
        ...base,
        request: { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 1], data: [1, 2] }] },
      }),
      cacheKey({
        ...base,
        request: { inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 2], data: [1, 2] }] },
      }),
      cacheKey({ ...base, model: 'n', request: req([1, 2]) }),
      cacheKey({ ...base, version: '2', request: req([1, 2]) }),
      cacheKey({ ...base, request: req([1, 2], { outputs: [{ name: 'y' }] }) }),
      cacheKey({ ...base, request: req([1, 2], { parameters: { binary_data_output: true } }) }),
    ];
    expect(new Set([k, ...variants]).size).toBe(variants.length + 1);
  });

  it('treats an unversioned request as version "latest"', () => {
    const a = cacheKey({ ...base, request: req([1, 2]) });
    const b = cacheKey({ ...base, version: 'latest', request: req([1, 2]) });
    expect(a).toBe(b);
  });

  it('scopes keys to the tenant unless the model is shareable', () => {
    const a = cacheKey({ ...base, request: req([1, 2]) });
    const b = cacheKey({ ...base, tenantId: 'tenant-b', request: req([1, 2]) });
    expect(a).not.toBe(b);
    const sa = cacheKey({ ...base, shareable: true, request: req([1, 2]) });
    const sb = cacheKey({
      ...base,
      shareable: true,
      tenantId: 'tenant-b',
      request: req([1, 2]),
    });
    expect(sa).toBe(sb);
    expect(sa).not.toBe(a);
  });

  it('ignores id, priority, timeout, key order and input order', () => {
    const two = (first: string) => {
      const inputs = [
        { name: 'a', datatype: 'INT32', shape: [1], data: [1] },
        { name: 'b', datatype: 'INT32', shape: [1], data: [2] },
      ];
      return first === 'a' ? inputs : [...inputs].reverse();
    };
    const a = cacheKey({
      ...base,
      request: { id: 'one', inputs: two('a'), parameters: { priority: 1, timeout: 100, z: 1, y: 2 } },
    });
    const b = cacheKey({
      ...base,
      request: { parameters: { y: 2, z: 1 }, inputs: two('b'), id: 'two' },
    });
    expect(a).toBe(b);
    const c = cacheKey({ ...base, request: { inputs: two('a'), parameters: { y: 2, z: 2 } } });
    expect(c).not.toBe(a);
  });

  it('hashes a binary body like the equivalent JSON body', () => {
    const bytes = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const json = cacheKey({ ...base, request: req([1.5, -2]) });
    const binary = cacheKey({
      ...base,
      request: {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } }],
      },
      binary: bytes,
    });
    expect(binary).toBe(json);
    const other = cacheKey({
      ...base,
      request: {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } }],
      },
      binary: new Uint8Array(new Float32Array([1.5, -3]).buffer),
    });
    expect(other).not.toBe(json);
  });

  it('keeps data the origin would refuse distinct from valid data that looks alike', () => {
    const valid = cacheKey({ ...base, request: req([1, 2]) });
    const strings = cacheKey({ ...base, request: req(['1', '2']) });
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
  const binary = new Uint8Array(new Float32Array([1.5, -2]).buffer);
  const cases: KeyedRequest[] = [
    { ...base, request: req([1, 2], { id: 'x', parameters: { a: 1 } }) },
    { ...base, shareable: true, version: '3', request: req([[1, 2]]) },
    {
      ...base,
      binary,
      request: {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } }],
      },
    },
    // FP16 JSON data is hashed as the half bits the origin feeds onnxruntime (shared/protocol/fp16.ts).
    {
      ...base,
      request: { inputs: [{ name: 'h', datatype: 'FP16', shape: [3], data: [0.1, 65519.99, -0] }] },
    },
  ];

  it('gives the same key as WebCrypto SHA-256 over the same material, for JSON and binary bodies', async () => {
    for (const input of cases) {
      const body = sha256HexSync(canonicalBodyMaterial(input.request, input.binary));
      expect(sha256HexSync(cacheKeyMaterial(input, body))).toBe(await webCryptoKey(input));
    }
  });

  it('keeps the keys of known requests: answers already cached are found after an upgrade', () => {
    // Computed by the key derivation as of `aiserve-cache-key:2`; a deliberate format change bumps that tag.
    expect(cases.map(cacheKey)).toEqual([
      '7b78869a9dbe82297b84d03573f2e94abc7a3f9f778ce5418b56478bba8f9273',
      '9c423ba62724669b97837f89ec72c60b94975c6c7b41bc3d129d23f8ea756714',
      '081841f9a1fd49d92821bd3662661bc8feefcd9c3f4f8c00480df70c4a55d142',
      '97e66925eb246e5786a81bf3161a7ceeb4423a850054cb65d6379858691c23c1',
    ]);
  });
});

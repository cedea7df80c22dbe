import { describe, expect, it } from 'vitest';
import { ParsedBodyMemo } from '../../../../workers/middleware/infer-body/parsed-body-memo.ts';

const enc = new TextEncoder();

function body(values: number[], id?: string): Uint8Array {
  return enc.encode(
    JSON.stringify({
      id,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, values.length], data: values }],
    }),
  );
}

describe('ParsedBodyMemo', () => {
  it('returns the same parsed request for the same bytes, and a different one for other bytes', () => {
    const memo = new ParsedBodyMemo({ maxBodyBytes: 1024, maxTotalBytes: 64 * 1024 });
    const a = memo.parse(body([1, 2]), undefined);
    expect(memo.parse(body([1, 2]), undefined)).toBe(a);
    const b = memo.parse(body([1, 3]), undefined);
    expect(b).not.toBe(a);
    expect(b.request.inputs[0]!.data).toEqual([1, 3]);
    expect(memo.parse(body([1, 2], 'other-id'), undefined).request.id).toBe('other-id');
    expect(memo.size).toBe(3);
  });

  it('keys on the Inference-Header-Content-Length header as well as the bytes', () => {
    const memo = new ParsedBodyMemo({ maxBodyBytes: 1024, maxTotalBytes: 64 * 1024 });
    const header = enc.encode(
      JSON.stringify({
        inputs: [{ name: 'x', datatype: 'UINT8', shape: [1, 2], parameters: { binary_data_size: 2 } }],
      }),
    );
    const bytes = new Uint8Array([...header, 7, 9]);
    const binary = memo.parse(bytes, String(header.length));
    expect(binary.headerLength).toBe(header.length);
    // The same bytes without the header are not valid JSON: refused, not served from the memo.
    expect(() => memo.parse(bytes, undefined)).toThrow(/not valid JSON/);
  });

  it('never remembers a refused body: it is refused again each time', () => {
    const memo = new ParsedBodyMemo({ maxBodyBytes: 1024, maxTotalBytes: 64 * 1024 });
    const bad = enc.encode('{"inputs": [{"name": "x"}]}');
    expect(() => memo.parse(bad, undefined)).toThrow(/invalid inference request/);
    expect(() => memo.parse(bad, undefined)).toThrow(/invalid inference request/);
    expect(memo.size).toBe(0);
  });

  it('skips bodies over maxBodyBytes and evicts the least recently used beyond maxTotalBytes', () => {
    const one = body([1]);
    const memo = new ParsedBodyMemo({ maxBodyBytes: one.length + 8, maxTotalBytes: one.length * 2 + 4 });
    const big = body([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(memo.parse(big, undefined)).not.toBe(memo.parse(big, undefined));
    expect(memo.size).toBe(0);
    const a = memo.parse(body([1]), undefined);
    const b = memo.parse(body([2]), undefined);
    expect(memo.parse(body([1]), undefined)).toBe(a); // a is now the most recently used
    memo.parse(body([3]), undefined); // over budget: b goes
    expect(memo.size).toBe(2);
    expect(memo.parse(body([1]), undefined)).toBe(a);
    expect(memo.parse(body([2]), undefined)).not.toBe(b);
  });
});

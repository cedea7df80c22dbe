import { describe, expect, it } from 'vitest';
import { concatBatch, splitBatch } from '../../../origin/protocol/batch-tensors.ts';
import type { Tensor } from '../../../origin/protocol/tensor.ts';
import { AppError } from '../../../shared/errors/index.ts';

/** Request r with `rows` rows of an FP32 [rows,2] input and a BYTES [rows] input, values tagged by request. */
function request(r: number, rows: number): Tensor[] {
  const f = new Float32Array(rows * 2).map((_, i) => r * 100 + i);
  const s = Array.from({ length: rows }, (_, i) => `r${r}-${i}`);
  return [
    { name: 'f', datatype: 'FP32', shape: [rows, 2], data: f },
    { name: 's', datatype: 'BYTES', shape: [rows], data: s },
  ];
}

describe('concatBatch / splitBatch', () => {
  const sizes = [1, 3, 2];
  const requests = sizes.map((rows, r) => request(r, rows));

  it('concatenates along dim 0 into one preallocated array per input', () => {
    const batch = concatBatch(requests);
    expect(batch.map((t) => t.name)).toEqual(['f', 's']);
    expect(batch[0]!.shape).toEqual([6, 2]);
    expect(batch[0]!.data).toBeInstanceOf(Float32Array);
    expect(Array.from(batch[0]!.data as Float32Array)).toEqual([
      0, 1, 100, 101, 102, 103, 104, 105, 200, 201, 202, 203,
    ]);
    expect(batch[1]!.shape).toEqual([6]);
    expect(batch[1]!.data).toEqual(['r0-0', 'r1-0', 'r1-1', 'r1-2', 'r2-0', 'r2-1']);
  });

  it('matches inputs by name when requests list them in different orders', () => {
    const reordered = [requests[0]!, [requests[1]![1]!, requests[1]![0]!]];
    const batch = concatBatch(reordered);
    expect(batch[0]!.shape).toEqual([4, 2]);
    expect(batch[1]!.data).toEqual(['r0-0', 'r1-0', 'r1-1', 'r1-2']);
  });

  it('splits back exactly into sizes [1,3,2] (views by default, copies on request)', () => {
    const batch = concatBatch(requests);
    for (const copy of [false, true]) {
      const parts = splitBatch(batch, sizes, { copy });
      expect(parts).toHaveLength(3);
      parts.forEach((part, r) => {
        expect(part).toEqual(requests[r]);
        const buffer = (part[0]!.data as Float32Array).buffer;
        expect(buffer === (batch[0]!.data as Float32Array).buffer).toBe(!copy);
      });
    }
  });

  it('returns a single request unchanged (no copy) and a single split unchanged', () => {
    expect(concatBatch([requests[0]!])).toBe(requests[0]);
    const out = request(9, 4);
    expect(splitBatch(out, [4])).toEqual([out]);
  });

  it('fails with INFERENCE_FAILED when an output dim 0 is not the sum of sizes', () => {
    const out = request(0, 5);
    try {
      splitBatch(out, sizes);
      throw new Error('expected a failure');
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('INFERENCE_FAILED');
      expect((err as AppError).message).toMatch(/output 'f' has shape \[5,2\] but the batch has 6 rows/);
    }
  });

  it('rejects concatenating incompatible requests as an INTERNAL error', () => {
    const odd: Tensor[] = [
      { name: 'f', datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) },
      requests[0]![1]!,
    ];
    expect(() => concatBatch([requests[0]!, odd])).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('keeps INT64 and BOOL data exact through concat and split', () => {
    const a: Tensor[] = [{ name: 'i', datatype: 'INT64', shape: [1], data: new BigInt64Array([2n ** 62n]) }];
    const b: Tensor[] = [{ name: 'i', datatype: 'INT64', shape: [2], data: new BigInt64Array([-1n, 5n]) }];
    const batch = concatBatch([a, b]);
    expect(batch[0]!.data).toEqual(new BigInt64Array([2n ** 62n, -1n, 5n]));
    expect(splitBatch(batch, [1, 2])).toEqual([a, b]);
  });
});

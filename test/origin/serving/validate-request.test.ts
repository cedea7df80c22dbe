import { describe, expect, it } from 'vitest';
import type { DecodedInferRequest, RequestedOutput } from '../../../origin/protocol/decode-request.ts';
import type { Tensor } from '../../../origin/protocol/tensor.ts';
import { validateAgainstModel } from '../../../origin/serving/validate-request.ts';

type Signature = Parameters<typeof validateAgainstModel>[1];

import { AppError } from '../../../shared/errors/index.ts';

const batched: Signature = {
  name: 'm',
  maxBatchSize: 32,
  inputs: [
    { name: 'image', datatype: 'FP32', shape: [-1, 3, -1, 4] },
    { name: 'scale', datatype: 'INT64', shape: [-1, 1] },
  ],
  outputs: [
    { name: 'probs', datatype: 'FP32', shape: [-1, 10] },
    { name: 'label', datatype: 'INT64', shape: [-1] },
  ],
};

const unbatched: Signature = {
  name: 'u',
  maxBatchSize: 0,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [2, -1] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [2, -1] }],
};

function t(name: string, datatype: Tensor['datatype'], shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = datatype === 'INT64' ? new BigInt64Array(n) : new Float32Array(n);
  return { name, datatype, shape, data };
}

function req(
  inputs: Tensor[],
  outputs?: RequestedOutput[],
  binaryOutputDefault = false,
): DecodedInferRequest {
  const r: DecodedInferRequest = { parameters: {}, inputs, binaryOutputDefault };
  if (outputs) r.outputs = outputs;
  return r;
}

const good = (b = 2, h = 5) => [t('image', 'FP32', [b, 3, h, 4]), t('scale', 'INT64', [b, 1])];

function rejection(r: DecodedInferRequest, model = batched): string {
  try {
    validateAgainstModel(r, model);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('INVALID_INPUT');
    return (err as AppError).message;
  }
  throw new Error('expected a rejection');
}

describe('validateAgainstModel', () => {
  it('returns dim 0 as the batch size for a batching model', () => {
    expect(validateAgainstModel(req(good(7)), batched).batchSize).toBe(7);
  });

  it('returns batch size 1 and uses shapes as they are for a model with max_batch_size 0', () => {
    const info = validateAgainstModel(req([t('x', 'FP32', [2, 9])]), unbatched);
    expect(info.batchSize).toBe(1);
    expect(rejection(req([t('x', 'FP32', [3, 9])]), unbatched)).toMatch(
      /dimension 0 = 3 but model 'u' expects 2/,
    );
  });

  it('accepts exactly max_batch_size and rejects one more', () => {
    expect(validateAgainstModel(req(good(32)), batched).batchSize).toBe(32);
    expect(rejection(req(good(64)))).toBe("batch size 64 exceeds max_batch_size 32 of model 'm'");
  });

  it('rejects a zero batch', () => {
    expect(rejection(req(good(0)))).toMatch(/batch size must be at least 1/);
  });

  it('rejects a missing input', () => {
    expect(rejection(req([t('image', 'FP32', [1, 3, 5, 4])]))).toBe("model 'm' expects input 'scale'");
  });

  it('rejects an unknown input', () => {
    expect(rejection(req([...good(), t('extra', 'FP32', [1])]))).toMatch(/^model 'm' has no input 'extra'/);
  });

  it('rejects a datatype that differs from the model', () => {
    expect(rejection(req([t('image', 'INT64', [2, 3, 5, 4]), t('scale', 'INT64', [2, 1])]))).toBe(
      "input 'image': datatype INT64 does not match model 'm', which expects FP32",
    );
  });

  it('rejects a wrong rank (shapes include the batch dim)', () => {
    expect(rejection(req([t('image', 'FP32', [3, 5, 4]), t('scale', 'INT64', [2, 1])]))).toMatch(
      /input 'image': shape \[3,5,4\] has rank 3 but model 'm' expects rank 4 \[-1,3,-1,4\]/,
    );
  });

  it('rejects a fixed-dim mismatch and accepts any size on dynamic dims', () => {
    expect(rejection(req([t('image', 'FP32', [2, 1, 5, 4]), t('scale', 'INT64', [2, 1])]))).toMatch(
      /input 'image': shape \[2,1,5,4\] has dimension 1 = 1 but model 'm' expects 3/,
    );
    expect(validateAgainstModel(req(good(2, 99)), batched).batchSize).toBe(2);
  });

  it('rejects inputs that disagree on the batch size', () => {
    expect(rejection(req([t('image', 'FP32', [2, 3, 5, 4]), t('scale', 'INT64', [3, 1])]))).toBe(
      "inputs 'image' and 'scale' have different batch sizes (2 and 3)",
    );
  });

  it('rejects an unknown requested output and accepts known ones', () => {
    expect(rejection(req(good(), [{ name: 'nope', binary: false }]))).toMatch(
      /^model 'm' has no output 'nope'/,
    );
    expect(() => validateAgainstModel(req(good(), [{ name: 'label', binary: true }]), batched)).not.toThrow();
  });
});

describe('batchKey', () => {
  const key = (r: DecodedInferRequest) => validateAgainstModel(r, batched).batchKey;

  it('is equal for requests that differ only in batch size or input order', () => {
    const [img, scale] = good(1);
    expect(key(req(good(1)))).toBe(key(req(good(5))));
    expect(key(req([scale!, img!]))).toBe(key(req(good(3))));
  });

  it('is equal when the same outputs are requested in a different order', () => {
    const a = [
      { name: 'probs', binary: false },
      { name: 'label', binary: true },
    ];
    expect(key(req(good(), a))).toBe(key(req(good(), [a[1]!, a[0]!])));
  });

  it('differs when a dynamic non-batch dim differs', () => {
    expect(key(req(good(2, 5)))).not.toBe(key(req(good(2, 6))));
  });

  it('differs when requested outputs or their binary flags differ', () => {
    const all = key(req(good()));
    const probs = key(req(good(), [{ name: 'probs', binary: false }]));
    const probsBinary = key(req(good(), [{ name: 'probs', binary: true }]));
    expect(new Set([all, probs, probsBinary]).size).toBe(3);
    expect(key(req(good(), undefined, true))).not.toBe(all);
  });
});

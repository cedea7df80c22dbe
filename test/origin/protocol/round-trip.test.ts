import { describe, expect, it } from 'vitest';
import { decodeInferResponse } from '../../../origin/protocol/client/decode-response.ts';
import { encodeInferRequest } from '../../../origin/protocol/client/encode-request.ts';
import { decodeInferRequest } from '../../../origin/protocol/decode-request.ts';
import { encodeInferResponse } from '../../../origin/protocol/encode-response.ts';
import type { Tensor } from '../../../origin/protocol/tensor.ts';
import type { Datatype } from '../../../shared/protocol/datatypes.ts';
import { floatToHalf } from '../../../shared/protocol/fp16.ts';

const bytesOf = (body: Uint8Array | string) =>
  typeof body === 'string' ? new TextEncoder().encode(body) : body;

/** One tensor per datatype, with values at the edges of each type's range. */
const SAMPLES: Record<Datatype, Tensor['data']> = {
  BOOL: new Uint8Array([1, 0, 0, 1, 1, 0]),
  UINT8: new Uint8Array([0, 1, 127, 128, 254, 255]),
  INT8: new Int8Array([-128, -1, 0, 1, 100, 127]),
  UINT16: new Uint16Array([0, 1, 255, 256, 65534, 65535]),
  INT16: new Int16Array([-32768, -1, 0, 1, 1000, 32767]),
  UINT32: new Uint32Array([0, 1, 65536, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1]),
  INT32: new Int32Array([-(2 ** 31), -1, 0, 1, 123456789, 2 ** 31 - 1]),
  UINT64: new BigUint64Array([0n, 1n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]),
  INT64: new BigInt64Array([-(2n ** 63n), -(2n ** 53n) - 1n, -1n, 0n, 2n ** 53n - 1n, 2n ** 63n - 1n]),
  FP16: new Uint16Array([0, 0x3c00, 0xc000, 0x7bff, 0x0001, floatToHalf(0.1)]),
  FP32: new Float32Array([0, 0.1, -1.5, 3.4028234663852886e38, 1.401298464324817e-45, 123.456]),
  FP64: new Float64Array([0, 0.1, -1.5, Number.MAX_VALUE, Number.MIN_VALUE, Math.PI]),
  BYTES: ['', 'a', 'hello world', 'ünïcödé ✓', '"quoted"\n', '日本語'],
};

function roundTrip(input: Tensor, binaryIn: boolean, binaryOut: boolean): Tensor {
  const req = encodeInferRequest({ id: 'r1', inputs: [input], binaryInputs: binaryIn });
  const decoded = decodeInferRequest(bytesOf(req.body), {
    contentType: req.headers['content-type'],
    inferenceHeaderContentLength: req.headers['inference-header-content-length'],
  });
  expect(decoded.id).toBe('r1');
  const res = encodeInferResponse({
    modelName: 'm',
    modelVersion: '1',
    id: decoded.id,
    outputs: decoded.inputs,
    binaryOutputDefault: binaryOut,
  });
  expect(typeof res.body === 'string').toBe(!binaryOut);
  const back = decodeInferResponse(res.body, {
    inferenceHeaderContentLength: res.headers['inference-header-content-length'],
  });
  expect(back.modelName).toBe('m');
  expect(back.id).toBe('r1');
  expect(back.outputs).toHaveLength(1);
  return back.outputs[0]!;
}

describe('every datatype round trips request → tensor → response exactly', () => {
  for (const [datatype, data] of Object.entries(SAMPLES) as [Datatype, Tensor['data']][]) {
    for (const [binaryIn, binaryOut] of [
      [false, false],
      [true, true],
      [false, true],
      [true, false],
    ] as const) {
      it(`${datatype} (${binaryIn ? 'binary' : 'JSON'} request, ${binaryOut ? 'binary' : 'JSON'} response)`, () => {
        const input: Tensor = { name: 'x', datatype, shape: [2, 3], data };
        const out = roundTrip(input, binaryIn, binaryOut);
        expect(out.name).toBe('x');
        expect(out.datatype).toBe(datatype);
        expect(out.shape).toEqual([2, 3]);
        expect(out.data.constructor).toBe(data.constructor);
        expect(Array.from(out.data as ArrayLike<unknown>)).toEqual(Array.from(data as ArrayLike<unknown>));
      });
    }
  }
});

describe('JSON response encoding', () => {
  it('writes INT64 within ±(2^53-1) as numbers and beyond as decimal strings', () => {
    const res = encodeInferResponse({
      modelName: 'm',
      modelVersion: '1',
      outputs: [
        { name: 'y', datatype: 'INT64', shape: [3], data: new BigInt64Array([1n, -(2n ** 60n), 42n]) },
      ],
      binaryOutputDefault: false,
    });
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body as string).outputs[0].data).toEqual([1, '-1152921504606846976', 42]);
  });

  it('writes NaN and ±Infinity as null (JSON cannot carry them), and binary output keeps them exactly', () => {
    const data = new Float32Array([1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    const outputs: Tensor[] = [{ name: 'y', datatype: 'FP32', shape: [4], data }];
    const json = encodeInferResponse({
      modelName: 'm',
      modelVersion: '1',
      outputs,
      binaryOutputDefault: false,
    });
    expect(JSON.parse(json.body as string).outputs[0].data).toEqual([1, null, null, null]);
    const fp16 = encodeInferResponse({
      modelName: 'm',
      modelVersion: '1',
      outputs: [{ name: 'h', datatype: 'FP16', shape: [2], data: new Uint16Array([0x7e00, 0x3c00]) }],
      binaryOutputDefault: false,
    });
    expect(JSON.parse(fp16.body as string).outputs[0].data).toEqual([null, 1]);
    const bin = encodeInferResponse({
      modelName: 'm',
      modelVersion: '1',
      outputs,
      binaryOutputDefault: true,
    });
    const back = decodeInferResponse(bin.body, {
      inferenceHeaderContentLength: bin.headers['inference-header-content-length'],
    });
    expect(Array.from(back.outputs[0]!.data as Float32Array)).toEqual([1, Number.NaN, Infinity, -Infinity]);
  });

  it('writes the model name, version, id and parameters and a flat data array for a 10k FP32 output', () => {
    const data = new Float32Array(10_000).map((_, i) => i / 7);
    const res = encodeInferResponse({
      modelName: 'resnet',
      modelVersion: '3',
      id: 'abc',
      parameters: { sequence_id: 1 },
      outputs: [{ name: 'y', datatype: 'FP32', shape: [100, 100], data }],
      binaryOutputDefault: false,
    });
    const parsed = JSON.parse(res.body as string);
    expect(parsed.model_name).toBe('resnet');
    expect(parsed.model_version).toBe('3');
    expect(parsed.id).toBe('abc');
    expect(parsed.parameters).toEqual({ sequence_id: 1 });
    expect(parsed.outputs[0].shape).toEqual([100, 100]);
    expect(parsed.outputs[0].data).toHaveLength(10_000);
    expect(new Float32Array(parsed.outputs[0].data)).toEqual(data);
  });

  it('omits id and parameters when not given', () => {
    const res = encodeInferResponse({
      modelName: 'm',
      modelVersion: '1',
      outputs: [{ name: 'y', datatype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) }],
      binaryOutputDefault: false,
    });
    const parsed = JSON.parse(res.body as string);
    expect(parsed).not.toHaveProperty('id');
    expect(parsed).not.toHaveProperty('parameters');
    expect(parsed.outputs[0].data).toEqual([true, false]);
  });
});

describe('binary response encoding', () => {
  const outputs: Tensor[] = [
    { name: 'a', datatype: 'FP32', shape: [2], data: new Float32Array([1.5, -2]) },
    { name: 'b', datatype: 'BYTES', shape: [2], data: ['hi', ''] },
    { name: 'c', datatype: 'INT32', shape: [1], data: new Int32Array([7]) },
  ];

  it('puts the JSON header first, then binary outputs in output order, with binary_data_size and no data', () => {
    const res = encodeInferResponse({
      modelName: 'm',
      modelVersion: '1',
      outputs,
      requested: [
        { name: 'a', binary: true },
        { name: 'b', binary: true },
        { name: 'c', binary: false },
      ],
      binaryOutputDefault: false,
    });
    expect(res.headers['content-type']).toBe('application/octet-stream');
    const body = res.body as Uint8Array;
    const n = Number(res.headers['inference-header-content-length']);
    const header = JSON.parse(new TextDecoder().decode(body.subarray(0, n)));
    expect(header.outputs[0]).toEqual({
      name: 'a',
      datatype: 'FP32',
      shape: [2],
      parameters: { binary_data_size: 8 },
    });
    expect(header.outputs[1].parameters).toEqual({ binary_data_size: 4 + 2 + 4 });
    expect(header.outputs[2]).toEqual({ name: 'c', datatype: 'INT32', shape: [1], data: [7] });
    const rest = body.subarray(n);
    expect(rest.byteLength).toBe(8 + 10);
    expect(Array.from(new Float32Array(rest.slice(0, 8).buffer))).toEqual([1.5, -2]);
    expect(Array.from(rest.subarray(8))).toEqual([2, 0, 0, 0, 104, 105, 0, 0, 0, 0]);
  });

  it('returns only requested outputs, in requested order', () => {
    const res = encodeInferResponse({
      modelName: 'm',
      modelVersion: '1',
      outputs,
      requested: [
        { name: 'c', binary: false },
        { name: 'a', binary: false },
      ],
      binaryOutputDefault: true,
    });
    expect(typeof res.body).toBe('string');
    expect(JSON.parse(res.body as string).outputs.map((o: { name: string }) => o.name)).toEqual(['c', 'a']);
  });

  it('fails with INFERENCE_FAILED when a requested output was not produced', () => {
    expect(() =>
      encodeInferResponse({
        modelName: 'm',
        modelVersion: '1',
        outputs,
        requested: [{ name: 'zzz', binary: false }],
        binaryOutputDefault: false,
      }),
    ).toThrow(expect.objectContaining({ code: 'INFERENCE_FAILED' }));
  });
});

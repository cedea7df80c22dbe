import { describe, expect, it } from 'vitest';
import { encodeInferRequest } from '../../../origin/protocol/client/encode-request.ts';
import { decodeInferRequest } from '../../../origin/protocol/decode-request.ts';
import { AppError } from '../../../shared/errors/index.ts';

const enc = new TextEncoder();

function decodeJson(value: unknown) {
  return decodeInferRequest(enc.encode(typeof value === 'string' ? value : JSON.stringify(value)), {
    contentType: 'application/json',
  });
}

function input(datatype: string, shape: number[], data: unknown, name = 'x') {
  return { inputs: [{ name, datatype, shape, data }] };
}

/** Runs fn and returns the AppError it throws (failing when it throws anything else or nothing). */
function appError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected an AppError');
}

/** A binary-extension body: JSON header + raw bytes. */
function binaryBody(header: unknown, ...chunks: Uint8Array[]) {
  const h = enc.encode(JSON.stringify(header));
  const total = chunks.reduce((n, c) => n + c.byteLength, h.byteLength);
  const body = new Uint8Array(total);
  body.set(h);
  let o = h.byteLength;
  for (const c of chunks) {
    body.set(c, o);
    o += c.byteLength;
  }
  return { body, headerLength: String(h.byteLength) };
}

describe('decodeInferRequest: JSON', () => {
  it('decodes id, parameters, inputs and requested outputs with binary flags resolved against the default', () => {
    const req = decodeJson({
      id: 'req-1',
      parameters: { binary_data_output: true, priority: 2 },
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2], data: [1, 2.5] }],
      outputs: [{ name: 'a' }, { name: 'b', parameters: { binary_data: false } }],
    });
    expect(req.id).toBe('req-1');
    expect(req.parameters).toEqual({ binary_data_output: true, priority: 2 });
    expect(req.binaryOutputDefault).toBe(true);
    expect(req.inputs[0]).toEqual({
      name: 'x',
      datatype: 'FP32',
      shape: [2],
      data: new Float32Array([1, 2.5]),
    });
    expect(req.outputs).toEqual([
      { name: 'a', binary: true },
      { name: 'b', binary: false },
    ]);
  });

  it('leaves outputs undefined (all outputs) when absent or empty, and binaryOutputDefault false', () => {
    expect(decodeJson(input('INT32', [1], [1])).outputs).toBeUndefined();
    const req = decodeJson({ ...input('INT32', [1], [1]), outputs: [] });
    expect(req.outputs).toBeUndefined();
    expect(req.binaryOutputDefault).toBe(false);
    expect(req.id).toBeUndefined();
  });

  it('flattens nested data row-major, identical to flat data', () => {
    const nested = decodeJson(
      input(
        'INT32',
        [2, 2, 3],
        [
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          [
            [7, 8, 9],
            [10, 11, 12],
          ],
        ],
      ),
    );
    const flat = decodeJson(input('INT32', [2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    expect(nested.inputs[0]!.data).toEqual(new Int32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    expect(nested.inputs[0]).toEqual(flat.inputs[0]);
  });

  it('rejects nested data that is not rectangular or whose dims differ from the shape', () => {
    expect(appError(() => decodeJson(input('INT32', [2, 2], [[1, 2], [3]]))).message).toMatch(
      /input 'x': nested data is not rectangular/,
    );
    expect(
      appError(() =>
        decodeJson(
          input(
            'INT32',
            [3, 2],
            [
              [1, 2, 3],
              [4, 5, 6],
            ],
          ),
        ),
      ).message,
    ).toBe("input 'x': nested data has shape [2,3] but shape is [3,2]");
    expect(appError(() => decodeJson(input('INT32', [2, 2], [[1, 2], 3]))).message).toMatch(
      /not rectangular.*got number 3/,
    );
    expect(appError(() => decodeJson(input('INT32', [2, 1], [[1], [[2]]]))).message).toMatch(
      /input 'x': element 1 must be an integer, got an array/,
    );
  });

  it('accepts empty tensors (a zero dim) with empty data', () => {
    const req = decodeJson(input('FP32', [0, 3], []));
    expect(req.inputs[0]!.data).toEqual(new Float32Array(0));
  });

  it('accepts INT64/UINT64 as safe JSON numbers and as decimal strings up to the full range', () => {
    const req = decodeJson({
      inputs: [
        {
          name: 'i',
          datatype: 'INT64',
          shape: [3],
          data: [-5, '-9223372036854775808', '9223372036854775807'],
        },
        { name: 'u', datatype: 'UINT64', shape: [2], data: [9007199254740991, '18446744073709551615'] },
      ],
    });
    expect(Array.from(req.inputs[0]!.data as BigInt64Array)).toEqual([-5n, -(2n ** 63n), 2n ** 63n - 1n]);
    expect(Array.from(req.inputs[1]!.data as BigUint64Array)).toEqual([2n ** 53n - 1n, 2n ** 64n - 1n]);
  });

  it('converts FP16 JSON numbers to half bits', () => {
    const req = decodeJson(input('FP16', [3], [1, -2, 65504]));
    expect(Array.from(req.inputs[0]!.data as Uint16Array)).toEqual([0x3c00, 0xc000, 0x7bff]);
  });
});

describe('decodeInferRequest: rejected requests', () => {
  const cases: [string, unknown, string, RegExp | string][] = [
    ['malformed JSON', '{"inputs": [', 'INVALID_JSON', /^request body is not valid JSON: /],
    ['an empty body', '', 'INVALID_JSON', /^request body is not valid JSON: /],
    ['a non-object body', '[1,2]', 'INVALID_REQUEST', 'request body must be a JSON object'],
    ['missing inputs', {}, 'INVALID_REQUEST', "request must have a non-empty 'inputs' array"],
    ['empty inputs', { inputs: [] }, 'INVALID_REQUEST', "request must have a non-empty 'inputs' array"],
    [
      'a non-string id',
      { id: 5, ...input('INT32', [1], [1]) },
      'INVALID_REQUEST',
      /request 'id' must be a string/,
    ],
    [
      'a non-boolean binary_data_output',
      { parameters: { binary_data_output: 'yes' }, ...input('INT32', [1], [1]) },
      'INVALID_REQUEST',
      /binary_data_output must be a boolean/,
    ],
    ['an unknown datatype', input('FP8', [1], [1]), 'INVALID_INPUT', "input 'x': unknown datatype 'FP8'"],
    ['BF16', input('BF16', [1], [1]), 'INVALID_INPUT', /input 'x': .*onnxruntime-node cannot execute BF16/],
    [
      'a negative dim',
      input('FP32', [-1], [1]),
      'INVALID_INPUT',
      /input 'x': shape must be an array of non-negative/,
    ],
    ['a fractional dim', input('FP32', [1.5], [1]), 'INVALID_INPUT', /input 'x': shape must be/],
    [
      'a non-array shape',
      input('FP32', 3 as unknown as number[], [1]),
      'INVALID_INPUT',
      /input 'x': shape must be/,
    ],
    [
      'too few elements',
      input('FP32', [2, 2], [1, 2, 3]),
      'INVALID_INPUT',
      "input 'x': data has 3 elements but shape [2,2] implies 4",
    ],
    [
      'too many elements',
      input('FP32', [1], [1, 2]),
      'INVALID_INPUT',
      /data has 2 elements but shape \[1\] implies 1/,
    ],
    [
      'non-array data',
      input('FP32', [1], 1),
      'INVALID_INPUT',
      "input 'x': data must be an array, got number 1",
    ],
    [
      'no data and no binary_data_size',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }] },
      'INVALID_INPUT',
      /has neither data nor/,
    ],
    [
      'duplicate input names',
      { inputs: [input('FP32', [1], [1]).inputs[0], input('FP32', [1], [2]).inputs[0]] },
      'INVALID_INPUT',
      "input 'x' appears more than once",
    ],
    [
      'an input without a name',
      { inputs: [{ datatype: 'FP32', shape: [1], data: [1] }] },
      'INVALID_INPUT',
      'inputs[0]: name must be a non-empty string',
    ],
    [
      'INT8 above 127',
      input('INT8', [2], [1, 128]),
      'INVALID_INPUT',
      "input 'x': element 1 (128) is out of range for INT8",
    ],
    [
      'UINT8 below 0',
      input('UINT8', [1], [-1]),
      'INVALID_INPUT',
      /element 0 \(-1\) is out of range for UINT8/,
    ],
    ['INT32 above 2^31-1', input('INT32', [1], [2 ** 31]), 'INVALID_INPUT', /out of range for INT32/],
    ['UINT32 above 2^32-1', input('UINT32', [1], [2 ** 32]), 'INVALID_INPUT', /out of range for UINT32/],
    [
      'a fractional INT16',
      input('INT16', [1], [1.5]),
      'INVALID_INPUT',
      /element 0 must be an integer, got number 1.5/,
    ],
    [
      'a string for INT32',
      input('INT32', [1], ['1']),
      'INVALID_INPUT',
      /element 0 must be an integer, got string "1"/,
    ],
    [
      'a string for FP32',
      input('FP32', [1], ['1.0']),
      'INVALID_INPUT',
      /element 0 must be a finite number, got string/,
    ],
    [
      'null for FP32',
      input('FP32', [1], [null]),
      'INVALID_INPUT',
      /element 0 must be a finite number, got null/,
    ],
    [
      'FP32 beyond float range',
      input('FP32', [1], [1e39]),
      'INVALID_INPUT',
      /\(1e\+39\) is out of range for FP32/,
    ],
    [
      'FP64 overflowing to Infinity',
      '{"inputs":[{"name":"x","datatype":"FP64","shape":[1],"data":[1e400]}]}',
      'INVALID_INPUT',
      /must be a finite number/,
    ],
    ['FP16 beyond 65504', input('FP16', [1], [70000]), 'INVALID_INPUT', /\(70000\) is out of range for FP16/],
    [
      'a number for BOOL',
      input('BOOL', [1], [1]),
      'INVALID_INPUT',
      /element 0 must be true or false, got number 1/,
    ],
    [
      'a number for BYTES',
      input('BYTES', [1], [1]),
      'INVALID_INPUT',
      /element 0 must be a string, got number 1/,
    ],
    [
      'INT64 beyond 2^53 as a number',
      '{"inputs":[{"name":"x","datatype":"INT64","shape":[1],"data":[9007199254740993]}]}',
      'INVALID_INPUT',
      /send it as a decimal string/,
    ],
    [
      'INT64 string out of range',
      input('INT64', [1], ['9223372036854775808']),
      'INVALID_INPUT',
      /out of range for INT64/,
    ],
    [
      'UINT64 negative string',
      input('UINT64', [1], ['-1']),
      'INVALID_INPUT',
      /must be an integer or a decimal integer string/,
    ],
    [
      'UINT64 string out of range',
      input('UINT64', [1], ['18446744073709551616']),
      'INVALID_INPUT',
      /out of range for UINT64/,
    ],
    ['a non-decimal INT64 string', input('INT64', [1], ['0x10']), 'INVALID_INPUT', /decimal integer string/],
    [
      'binary_data_size without the header-length header',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } }] },
      'INVALID_INPUT',
      /no Inference-Header-Content-Length header/,
    ],
    [
      'duplicate output names',
      { ...input('FP32', [1], [1]), outputs: [{ name: 'y' }, { name: 'y' }] },
      'INVALID_REQUEST',
      "output 'y' is requested more than once",
    ],
    [
      'a non-boolean binary_data on an output',
      { ...input('FP32', [1], [1]), outputs: [{ name: 'y', parameters: { binary_data: 1 } }] },
      'INVALID_REQUEST',
      /output 'y': parameters.binary_data must be a boolean/,
    ],
    [
      'the classification extension',
      { ...input('FP32', [1], [1]), outputs: [{ name: 'y', parameters: { classification: 3 } }] },
      'INVALID_REQUEST',
      /classification extension is not supported/,
    ],
  ];

  for (const [label, body, code, message] of cases) {
    it(`rejects ${label} with ${code}`, () => {
      const err = appError(() => decodeJson(body));
      expect(err.code).toBe(code);
      expect(err.status).toBe(400);
      if (typeof message === 'string') expect(err.message).toBe(message);
      else expect(err.message).toMatch(message);
    });
  }

  it('rejects a non-UTF-8 body as INVALID_JSON', () => {
    const err = appError(() => decodeInferRequest(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), {}));
    expect(err.code).toBe('INVALID_JSON');
  });

  it('rejects multipart and image content types with 415 but accepts JSON, octet-stream, curl default and none', () => {
    const body = enc.encode(JSON.stringify(input('FP32', [1], [1])));
    for (const contentType of ['multipart/form-data; boundary=x', 'image/png']) {
      const err = appError(() => decodeInferRequest(body, { contentType }));
      expect(err.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(err.status).toBe(415);
    }
    for (const contentType of [
      undefined,
      'application/json; charset=utf-8',
      'application/octet-stream',
      'application/x-www-form-urlencoded',
    ]) {
      expect(decodeInferRequest(body, { contentType }).inputs).toHaveLength(1);
    }
  });
});

describe('decodeInferRequest: binary tensor data extension', () => {
  it('reads binary inputs in input order, mixed with JSON inputs', () => {
    const a = new Float32Array([1, 2, 3]);
    const c = new Uint8Array([1, 0]);
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          { name: 'a', datatype: 'FP32', shape: [3], parameters: { binary_data_size: 12 } },
          { name: 'b', datatype: 'INT8', shape: [1], data: [-3] },
          { name: 'c', datatype: 'BOOL', shape: [2], parameters: { binary_data_size: 2 } },
          { name: 'd', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 11 } },
        ],
      },
      new Uint8Array(a.buffer),
      c,
      new Uint8Array([2, 0, 0, 0, 104, 105, 1, 0, 0, 0, 33]),
    );
    const req = decodeInferRequest(body, {
      contentType: 'application/octet-stream',
      inferenceHeaderContentLength: headerLength,
    });
    expect(req.inputs.map((t) => t.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(req.inputs[0]!.data).toEqual(a);
    expect(req.inputs[1]!.data).toEqual(new Int8Array([-3]));
    expect(req.inputs[2]!.data).toEqual(new Uint8Array([1, 0]));
    expect(req.inputs[3]!.data).toEqual(['hi', '!']);
  });

  it('copies binary data into aligned arrays that own their buffer even at odd offsets', () => {
    // A 1-byte BOOL first puts the FP64 data at an odd offset in the body.
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          { name: 'b', datatype: 'BOOL', shape: [1], parameters: { binary_data_size: 1 } },
          { name: 'f', datatype: 'FP64', shape: [1], parameters: { binary_data_size: 8 } },
        ],
      },
      new Uint8Array([1]),
      new Uint8Array(new Float64Array([Math.E]).buffer),
    );
    const req = decodeInferRequest(body, { inferenceHeaderContentLength: headerLength });
    const f = req.inputs[1]!.data as Float64Array;
    expect(f[0]).toBe(Math.E);
    expect(f.buffer).not.toBe(body.buffer);
    expect(f.byteLength).toBe(f.buffer.byteLength);
  });

  it('round trips through encodeInferRequest with every input binary', () => {
    const r = encodeInferRequest({
      inputs: [{ name: 'x', datatype: 'INT16', shape: [2], data: new Int16Array([-2, 300]) }],
      binaryInputs: true,
      outputs: [{ name: 'y', binary: true }],
    });
    const req = decodeInferRequest(r.body as Uint8Array, {
      inferenceHeaderContentLength: r.headers['inference-header-content-length'],
    });
    expect(req.inputs[0]!.data).toEqual(new Int16Array([-2, 300]));
    expect(req.outputs).toEqual([{ name: 'y', binary: true }]);
  });

  const oneFloat = {
    inputs: [{ name: 'x', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } }],
  };

  it.each([['0'], ['-1'], ['abc'], ['1.5'], ['99999']])(
    'rejects Inference-Header-Content-Length %s (not an integer within the body) with INVALID_REQUEST',
    (value) => {
      const { body } = binaryBody(oneFloat, new Uint8Array(8));
      const err = appError(() => decodeInferRequest(body, { inferenceHeaderContentLength: value }));
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.message).toMatch(/Inference-Header-Content-Length/);
    },
  );

  it('rejects a header length that cuts the JSON short with INVALID_JSON', () => {
    const { body, headerLength } = binaryBody(oneFloat, new Uint8Array(8));
    const err = appError(() =>
      decodeInferRequest(body, { inferenceHeaderContentLength: String(Number(headerLength) - 3) }),
    );
    expect(err.code).toBe('INVALID_JSON');
  });

  it('rejects binary data shorter than the binary_data_size total', () => {
    const { body, headerLength } = binaryBody(oneFloat, new Uint8Array(6));
    const err = appError(() => decodeInferRequest(body, { inferenceHeaderContentLength: headerLength }));
    expect(err.message).toBe(
      "input 'x': binary_data_size 8 extends past the end of the body (6 bytes of binary data left)",
    );
  });

  it('rejects bytes left over after the binary_data_size total', () => {
    const { body, headerLength } = binaryBody(oneFloat, new Uint8Array(10));
    const err = appError(() => decodeInferRequest(body, { inferenceHeaderContentLength: headerLength }));
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toMatch(/request has 2 bytes of binary data beyond/);
  });

  it('rejects a binary_data_size that does not match elementCount × element size', () => {
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 12 } }] },
      new Uint8Array(12),
    );
    const err = appError(() => decodeInferRequest(body, { inferenceHeaderContentLength: headerLength }));
    expect(err.message).toBe(
      "input 'x': binary_data_size 12 does not match shape [2,3] of FP32 (expects 24 bytes)",
    );
  });

  it('rejects BYTES binary data whose element count differs from the shape or is truncated', () => {
    const bytesInput = (shape: number[], size: number) => ({
      inputs: [{ name: 's', datatype: 'BYTES', shape, parameters: { binary_data_size: size } }],
    });
    const twoElements = new Uint8Array([1, 0, 0, 0, 97, 1, 0, 0, 0, 98]);
    let b = binaryBody(bytesInput([3], 10), twoElements);
    expect(
      appError(() => decodeInferRequest(b.body, { inferenceHeaderContentLength: b.headerLength })).message,
    ).toBe("input 's': binary data holds 2 BYTES elements but shape implies 3");
    b = binaryBody(bytesInput([1], 10), twoElements);
    expect(
      appError(() => decodeInferRequest(b.body, { inferenceHeaderContentLength: b.headerLength })).message,
    ).toMatch(/more than the 1 BYTES elements/);
    b = binaryBody(bytesInput([1], 6), new Uint8Array([9, 0, 0, 0, 97, 98]));
    expect(
      appError(() => decodeInferRequest(b.body, { inferenceHeaderContentLength: b.headerLength })).message,
    ).toMatch(/element 0 declares 9 bytes but only 2 remain/);
    b = binaryBody(bytesInput([1], 2), new Uint8Array([1, 0]));
    expect(
      appError(() => decodeInferRequest(b.body, { inferenceHeaderContentLength: b.headerLength })).message,
    ).toMatch(/truncated length prefix/);
  });

  it('rejects an input with both data and binary_data_size', () => {
    const { body, headerLength } = binaryBody(
      {
        inputs: [{ name: 'x', datatype: 'INT8', shape: [1], data: [1], parameters: { binary_data_size: 1 } }],
      },
      new Uint8Array(1),
    );
    expect(
      appError(() => decodeInferRequest(body, { inferenceHeaderContentLength: headerLength })).message,
    ).toMatch(/input 'x': has both data and/);
  });
});

describe('decodeInferRequest: resource safety', () => {
  it('rejects a huge declared shape with a short nested body before allocating for it', () => {
    // data[0][0] has 1000 elements, data[0] and data have 1000 entries, but everything else is a scalar:
    // the first-element walk matches [1000,1000,1000] (8 GB of FP64) while the body is a few KB.
    const zeros = new Array(999).fill(0);
    const data = [[new Array(1000).fill(0), ...zeros], ...zeros];
    const body = `{"inputs":[{"name":"x","datatype":"FP64","shape":[1000,1000,1000],"data":${JSON.stringify(data)}}]}`;
    const err = appError(() => decodeInferRequest(enc.encode(body), {}));
    expect(err.message).toMatch(/not rectangular/);
  });

  it('rejects deeply nested JSON as INVALID_INPUT or INVALID_JSON, never a RangeError', () => {
    const deep = `{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":${'['.repeat(200_000)}${']'.repeat(200_000)}}]}`;
    const err = appError(() => decodeInferRequest(enc.encode(deep), {}));
    expect(['INVALID_JSON', 'INVALID_INPUT']).toContain(err.code);
  });
});

import { describe, expect, it } from 'vitest';
import { batchItems, parseInferBody } from '../../../workers/middleware/infer-body/index.ts';
import { bearer, makeKey, testEdge } from '../edge-fixture.ts';

const enc = new TextEncoder();

function binaryBody(header: object, tail: Uint8Array): { body: Uint8Array; headerLength: number } {
  const h = enc.encode(JSON.stringify(header));
  const body = new Uint8Array(h.length + tail.length);
  body.set(h);
  body.set(tail, h.length);
  return { body, headerLength: h.length };
}

describe('inference body parsing', () => {
  it('parses a JSON request and counts its batch as the largest first dimension', () => {
    const parsed = parseInferBody(
      enc.encode(
        JSON.stringify({
          inputs: [
            { name: 'a', datatype: 'FP32', shape: [3, 2], data: [1, 2, 3, 4, 5, 6] },
            { name: 'b', datatype: 'INT64', shape: [3], data: [1, 2, 3] },
          ],
        }),
      ),
      undefined,
    );
    expect(parsed.items).toBe(3);
    expect(parsed.headerLength).toBeNull();
  });

  it('counts a scalar input as one item', () => {
    expect(batchItems({ inputs: [{ name: 'a', datatype: 'FP32', shape: [], data: [1] }] })).toBe(1);
  });

  it('parses the binary extension when the sizes add up', () => {
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } }] },
      new Uint8Array(16),
    );
    const parsed = parseInferBody(body, String(headerLength));
    expect(parsed.headerLength).toBe(headerLength);
    expect(parsed.items).toBe(2);
  });

  it.each([
    ['not JSON', enc.encode('{nope'), undefined, 'not valid JSON'],
    ['empty', new Uint8Array(0), undefined, 'empty'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), undefined, 'not valid JSON'],
    ['no inputs', enc.encode('{"inputs":[]}'), undefined, 'inputs'],
    [
      'wrong shape type',
      enc.encode('{"inputs":[{"name":"x","datatype":"FP32","shape":["a"],"data":[1]}]}'),
      undefined,
      'shape',
    ],
    [
      'no data',
      enc.encode('{"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]}'),
      undefined,
      'neither data',
    ],
    ['non-numeric header length', enc.encode('{"inputs":[]}'), 'abc', 'non-negative integer'],
    ['header length past the body', enc.encode('{}'), '999', 'outside'],
    ['a JSON array', enc.encode('[1,2]'), undefined, 'invalid inference request'],
  ])('rejects %s with a 400-class error that says what is wrong', (_name, body, header, message) => {
    expect(() => parseInferBody(body, header)).toThrowError(
      expect.objectContaining({ status: 400, message: expect.stringContaining(message) }),
    );
  });

  it('rejects binary sizes that do not add up to the trailing bytes', () => {
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } }] },
      new Uint8Array(12),
    );
    expect(() => parseInferBody(body, String(headerLength))).toThrowError(/16 bytes but 12/);
  });

  it('refuses a JSON body over MAX_JSON_BODY_BYTES with 413 pointing at the binary extension, binary bodies pass', async () => {
    const k = await makeKey();
    const { app } = await testEdge({ keys: [k], env: { MAX_JSON_BODY_BYTES: '4096' } });
    const values = Array.from({ length: 2000 }, (_, i) => i / 7);
    const json = JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2000], data: values }],
    });
    expect(json.length).toBeGreaterThan(4096);
    const res = await app.request('/v2/models/m/infer', {
      method: 'POST',
      headers: bearer(k.key),
      body: json,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      error: expect.stringContaining('binary tensor data extension'),
    });
    // The same tensor as raw bytes: only its small JSON header counts against the limit.
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2000], parameters: { binary_data_size: 8000 } }] },
      new Uint8Array(Float32Array.from(values).buffer),
    );
    const ok = await app.request('/v2/models/m/infer', {
      method: 'POST',
      headers: bearer(k.key, {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(headerLength),
      }),
      body: body as Uint8Array<ArrayBuffer>,
    });
    expect(ok.status).toBe(200);
  });

  it('answers malformed bodies and headers over HTTP with 4xx JSON, never 5xx', async () => {
    const k = await makeKey();
    const { app } = await testEdge({ keys: [k] });
    const cases: [Record<string, string>, BodyInit][] = [
      [bearer(k.key), '{'],
      [bearer(k.key), 'null'],
      [bearer(k.key), '{"inputs":"x"}'],
      [bearer(k.key, { 'content-type': 'text/plain' }), 'hello'],
      [bearer(k.key, { 'content-type': 'application/octet-stream' }), 'raw'],
      [bearer(k.key, { 'inference-header-content-length': '-1' }), '{}'],
      [bearer(k.key, { 'inference-header-content-length': '99999999999' }), '{}'],
      [bearer(k.key), new Uint8Array([0xc3, 0x28])],
    ];
    for (const [headers, body] of cases) {
      const res = await app.request('/v2/models/m/infer', { method: 'POST', headers, body });
      expect(res.status, JSON.stringify(headers)).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await res.json()).toMatchObject({ error: expect.any(String), code: expect.any(String) });
    }
    const badPath = await app.request('/v2/models/%E0%A4%A/infer', {
      method: 'POST',
      headers: bearer(k.key),
      body: '{}',
    });
    expect(badPath.status).toBe(400);
  });
});

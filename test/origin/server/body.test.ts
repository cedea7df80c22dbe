import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeInferRequest } from '../../../origin/protocol/client/encode-request.ts';
import { decodeInferRequest } from '../../../origin/protocol/decode-request.ts';
import { type BodyVariables, binarySectionPad, readBody } from '../../../origin/server/body.ts';
import { listen, type RunningServer } from '../../../origin/server/http.ts';

describe('binarySectionPad', () => {
  it('pads so that the byte after the JSON header is 8-byte aligned', () => {
    for (const n of [1, 7, 8, 9, 13, 100, 1001]) {
      const pad = binarySectionPad(String(n));
      expect(pad).toBeGreaterThanOrEqual(0);
      expect(pad).toBeLessThan(8);
      expect((pad + n) % 8).toBe(0);
    }
  });

  it('is 0 without the header or with a value the decoder will reject', () => {
    for (const v of [undefined, '', 'abc', '-4', '1.5', '0']) expect(binarySectionPad(v)).toBe(0);
  });
});

describe('readBody over a real Node server', () => {
  let server: RunningServer;
  const seen: Array<{ offset: number; bytes: number[]; viewsBody: boolean }> = [];

  beforeAll(async () => {
    const app = new Hono<{ Variables: BodyVariables }>();
    app.post('/echo', async (c) => {
      const body = await readBody(c, 1 << 20);
      const hcl = c.req.header('inference-header-content-length');
      let viewsBody = false;
      if (hcl !== undefined) {
        const decoded = decodeInferRequest(body, { inferenceHeaderContentLength: hcl });
        const data = decoded.inputs[0]!.data as Float32Array;
        viewsBody = data.buffer === body.buffer;
      }
      seen.push({ offset: body.byteOffset, bytes: [...body], viewsBody });
      return c.json({ ok: true });
    });
    server = await listen(app, { host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await server.close(1000);
  });

  it('lays a binary-extension body out so its tensor is viewed in place, not copied', async () => {
    const encoded = encodeInferRequest({
      id: 'odd-length-id',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) }],
      binaryInputs: true,
    });
    const body = encoded.body as Uint8Array<ArrayBuffer>;
    const hcl = Number(encoded.headers['inference-header-content-length']);
    // The id makes the JSON header an odd length: read at offset 0, the FP32 data would be misaligned.
    expect(hcl % 4).not.toBe(0);
    const res = await fetch(`${server.url}/echo`, { method: 'POST', body, headers: encoded.headers });
    expect(res.status).toBe(200);
    const last = seen.at(-1)!;
    expect(last.bytes).toEqual([...body]);
    expect((last.offset + hcl) % 8).toBe(0);
    expect(last.viewsBody).toBe(true);
  });

  it('reads a plain body unchanged from offset 0', async () => {
    const res = await fetch(`${server.url}/echo`, { method: 'POST', body: '{"inputs":[]}' });
    expect(res.status).toBe(200);
    const last = seen.at(-1)!;
    expect(last.offset).toBe(0);
    expect(Buffer.from(last.bytes).toString()).toBe('{"inputs":[]}');
  });
});

import { describe, expect, it } from 'vitest';
import { bearer, inferBody, makeKey, testEdge } from '../edge-fixture.ts';

describe('body-size limits', () => {
  it('refuses an inference body above MAX_BODY_BYTES with 413 JSON by Content-Length', async () => {
    const k = await makeKey();
    const { app } = await testEdge({ env: { MAX_BODY_BYTES: '2048' }, keys: [k] });
    const body = inferBody(400);
    expect(body.length).toBeGreaterThan(2048);
    const res = await app.request('/v2/models/m/infer', {
      method: 'POST',
      headers: bearer(k.key, { 'content-length': String(body.length) }),
      body,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      error: expect.stringContaining('2048'),
    });
  });

  it('counts a streamed body without Content-Length and refuses it past the limit', async () => {
    const k = await makeKey();
    const { app } = await testEdge({ env: { MAX_BODY_BYTES: '2048' }, keys: [k] });
    const chunk = new TextEncoder().encode('x'.repeat(1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 4) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const res = await app.request('/v2/models/m/infer', {
      method: 'POST',
      headers: bearer(k.key, { 'transfer-encoding': 'chunked' }),
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('applies the smaller admin limit to /admin routes', async () => {
    const { app } = await testEdge({ env: { ADMIN_MAX_BODY_BYTES: '256' } });
    const body = JSON.stringify({ name: 'x'.repeat(400) });
    const res = await app.request('/admin/v1/tenants', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
    });
    expect(res.status).toBe(413);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { type FakeOrigin, startFakeOrigin } from '../routing/fake-origins.ts';
import { inferJson, type RoutedEdge, routedEdge } from './routed-edge.ts';

const started: FakeOrigin[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((o) => o.close()));
});

async function fake(id: string): Promise<FakeOrigin> {
  const o = await startFakeOrigin(id);
  started.push(o);
  return o;
}

async function infer(edge: RoutedEdge, body: string, init: Parameters<RoutedEdge['call']>[1] = {}) {
  const res = await edge.call('/v2/models/m/infer', { body, ...init });
  const text = await res.text();
  await edge.settle();
  return {
    res,
    text,
    json: (() => {
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch {
        return null;
      }
    })(),
  };
}

describe('POST /v2/models/{model}/infer through the edge', () => {
  it('answers a miss from the origin, then the same request from the edge cache', async () => {
    const a = await fake('a');
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    const first = await infer(edge, inferJson([1, 2]));
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get('x-cache')).toBe('MISS');
    expect(first.json?.served).toBe(1);
    const second = await infer(edge, inferJson([1, 2]));
    expect(second.res.status).toBe(200);
    expect(second.res.headers.get('x-cache')).toBe('HIT-EDGE');
    expect(second.json?.served).toBe(1);
    expect(second.res.headers.get('content-type')).toContain('application/json');
    expect(a.seen.length).toBe(1);
    expect(a.seen[0]!.signatureOk).toBe(true);
  });

  it('gives a cached answer the caller’s own request id', async () => {
    const a = await fake('a');
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    expect((await infer(edge, inferJson([3], 'first'))).json?.id).toBe('first');
    const hit = await infer(edge, inferJson([3], 'second'));
    expect(hit.res.headers.get('x-cache')).toBe('HIT-EDGE');
    expect(hit.json?.id).toBe('second');
    const none = await infer(edge, inferJson([3]));
    expect(none.json && 'id' in none.json).toBe(false);
  });

  it('Cache-Control: no-cache skips the cached answer and stores the fresh one', async () => {
    const a = await fake('a');
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    await infer(edge, inferJson([4]));
    const fresh = await infer(edge, inferJson([4]), { headers: { 'cache-control': 'no-cache' } });
    expect(fresh.res.headers.get('x-cache')).toBe('MISS');
    expect(fresh.json?.served).toBe(2);
    const after = await infer(edge, inferJson([4]));
    expect(after.res.headers.get('x-cache')).toBe('HIT-EDGE');
    expect(after.json?.served).toBe(2);
  });

  it('Cache-Control: no-store bypasses the cache: nothing read, nothing written', async () => {
    const a = await fake('a');
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    await infer(edge, inferJson([5]));
    const bypass = await infer(edge, inferJson([5]), { headers: { 'cache-control': 'no-store' } });
    expect(bypass.res.headers.get('x-cache')).toBe('BYPASS');
    expect(bypass.json?.served).toBe(2);
    const other = await infer(edge, inferJson([6]), { headers: { 'cache-control': 'no-store' } });
    expect(other.res.headers.get('x-cache')).toBe('BYPASS');
    expect((await infer(edge, inferJson([6]))).res.headers.get('x-cache')).toBe('MISS');
  });

  it('bypasses the cache for a model marked not cacheable', async () => {
    const a = await fake('a');
    const edge = await routedEdge({
      origins: [`a=${a.url}`],
      models: new Map([['m', { cacheable: false, cacheTtlSeconds: 300, shareable: false }]]),
    });
    expect((await infer(edge, inferJson([7]))).res.headers.get('x-cache')).toBe('BYPASS');
    expect((await infer(edge, inferJson([7]))).res.headers.get('x-cache')).toBe('BYPASS');
    expect(a.seen.length).toBe(2);
  });

  it('expires answers after the model’s TTL', async () => {
    const a = await fake('a');
    const edge = await routedEdge({
      origins: [`a=${a.url}`],
      models: new Map([['m', { cacheable: true, cacheTtlSeconds: 10, shareable: false }]]),
    });
    await infer(edge, inferJson([8]));
    edge.clock.now += 9_000;
    expect((await infer(edge, inferJson([8]))).res.headers.get('x-cache')).toBe('HIT-EDGE');
    edge.clock.now += 2_000;
    expect((await infer(edge, inferJson([8]))).res.headers.get('x-cache')).toBe('MISS');
  });

  it('never caches errors: an origin 400 is passed through unchanged and asked again next time', async () => {
    const a = await fake('a');
    a.behave({
      kind: 'status',
      status: 400,
      body: JSON.stringify({ error: 'input x: bad shape', code: 'INVALID_INPUT' }),
    });
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    const first = await infer(edge, inferJson([9]));
    expect(first.res.status).toBe(400);
    expect(first.json).toEqual({ error: 'input x: bad shape', code: 'INVALID_INPUT' });
    expect(first.res.headers.get('x-cache')).toBe('MISS');
    const second = await infer(edge, inferJson([9]));
    expect(second.res.status).toBe(400);
    expect(a.seen.length).toBe(2);
    a.behave({ kind: 'ok' });
    expect((await infer(edge, inferJson([9]))).res.status).toBe(200);
  });

  it('keeps tenants apart: tenant B never gets tenant A’s cached answer', async () => {
    const a = await fake('a');
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    const [ka, kb] = edge.keys;
    expect((await infer(edge, inferJson([10]), { key: ka })).json?.served).toBe(1);
    const b = await infer(edge, inferJson([10]), { key: kb });
    expect(b.res.headers.get('x-cache')).toBe('MISS');
    expect(b.json?.served).toBe(2);
    expect((await infer(edge, inferJson([10]), { key: ka })).json?.served).toBe(1);
  });

  it('shares one answer across tenants for a model marked shareable', async () => {
    const a = await fake('a');
    const edge = await routedEdge({
      origins: [`a=${a.url}`],
      models: new Map([['m', { cacheable: true, cacheTtlSeconds: 300, shareable: true }]]),
    });
    const [ka, kb] = edge.keys;
    await infer(edge, inferJson([11]), { key: ka });
    const b = await infer(edge, inferJson([11]), { key: kb });
    expect(b.res.headers.get('x-cache')).toBe('HIT-EDGE');
    expect(b.json?.served).toBe(1);
  });

  it('forwards a binary-extension request with its header length and passes the answer through', async () => {
    const a = await fake('a');
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    const header = new TextEncoder().encode(
      JSON.stringify({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } }],
      }),
    );
    const body = new Uint8Array(header.length + 8);
    body.set(header);
    body.set(new Uint8Array(new Float32Array([1, 2]).buffer), header.length);
    const res = await edge.call('/v2/models/m/infer', {
      body,
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.length),
      },
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const seen = a.seen[0]!;
    expect(seen.headers['inference-header-content-length']).toBe(String(header.length));
    expect(seen.headers['content-type']).toBe('application/octet-stream');
    expect(new Uint8Array(seen.body)).toEqual(body);
  });

  it('routes a versioned request to the version path on the origin', async () => {
    const a = await fake('a');
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    const res = await edge.call('/v2/models/m/versions/2/infer', { body: inferJson([1]) });
    expect(res.status).toBe(200);
    expect(a.seen[0]!.url).toBe('/v2/models/m/versions/2/infer');
  });

  it('answers 503 NO_HEALTHY_ORIGIN with Retry-After and a body saying so when every origin is down', async () => {
    const a = await fake('a');
    await a.kill();
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    const res = await infer(edge, inferJson([12]));
    expect(res.res.status).toBe(503);
    expect(Number(res.res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(res.json?.code).toBe('NO_HEALTHY_ORIGIN');
    expect(String(res.json?.error)).toMatch(/no healthy origin for model 'm'/);
  });

  it('answers 504 DEADLINE_EXCEEDED when the origin hangs past the client’s shorter deadline', async () => {
    const a = await fake('a');
    a.behave({ kind: 'hang' });
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    const res = await infer(edge, inferJson([13]), { headers: { 'x-request-timeout-ms': '300' } });
    expect(res.res.status).toBe(504);
    expect(res.json?.code).toBe('DEADLINE_EXCEEDED');
  });

  it('rejects a malformed timeout header with a 400 that names it', async () => {
    const a = await fake('a');
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    const res = await infer(edge, inferJson([14]), { headers: { 'x-request-timeout-ms': 'soon' } });
    expect(res.res.status).toBe(400);
    expect(String(res.json?.error)).toMatch(/X-Request-Timeout-Ms/);
    expect(a.seen.length).toBe(0);
  });
});

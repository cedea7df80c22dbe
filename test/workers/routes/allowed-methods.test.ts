import { describe, expect, it } from 'vitest';
import { allowedMethodsOf } from '../../../workers/routes/allowed-methods.ts';
import { bearer, makeKey, testEdge } from '../edge-fixture.ts';

describe('allowedMethodsOf', () => {
  const routes = [
    { method: 'ALL', path: '/*' },
    { method: 'ALL', path: '/v2/models/*' },
    { method: 'GET', path: '/v2/models/:name' },
    { method: 'POST', path: '/v2/models/:name/infer' },
    { method: 'POST', path: '/admin/v1/tenants' },
    { method: 'GET', path: '/admin/v1/tenants' },
    { method: 'PATCH', path: '/admin/v1/models/:name' },
  ];
  const allowed = allowedMethodsOf(() => routes);

  it('lists the methods of the routes a path matches, HEAD with GET, and ignores middleware', () => {
    expect(allowed('/v2/models/ocr-cls/infer')).toEqual(['POST']);
    expect(allowed('/v2/models/ocr-cls')).toEqual(['GET', 'HEAD']);
    expect(allowed('/admin/v1/tenants')).toEqual(['GET', 'HEAD', 'POST']);
    expect(allowed('/admin/v1/models/m')).toEqual(['PATCH']);
  });

  it('is empty for a path no route matches, including an empty parameter or extra segments', () => {
    expect(allowed('/v2/models//infer')).toEqual([]);
    expect(allowed('/v2/models/a/b/c')).toEqual([]);
    expect(allowed('/nothing')).toEqual([]);
  });
});

describe('the edge on a known path with the wrong method', () => {
  it('answers 405 with Allow and a JSON body that names the methods to use', async () => {
    const k = await makeKey();
    const { app } = await testEdge({ keys: [k] });
    const res = await app.request('/v2/models/m/infer', { headers: bearer(k.key) });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(await res.json()).toMatchObject({
      code: 'METHOD_NOT_ALLOWED',
      error: 'GET is not allowed on /v2/models/m/infer; use POST',
    });
    const health = await app.request('/v2/health/live', { method: 'DELETE' });
    expect(health.status).toBe(405);
    expect(health.headers.get('allow')).toBe('GET, HEAD');
  });

  it('still answers 404 for a path that no method serves', async () => {
    const { app } = await testEdge({});
    const res = await app.request('/v3/nothing', { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'NOT_FOUND' });
  });
});

import { describe, expect, it } from 'vitest';
import { bearer, makeKey, testEdge } from '../edge-fixture.ts';

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

import { describe, expect, it } from 'vitest';
import { testEdge } from '../edge-fixture.ts';

describe('security headers and CORS', () => {
  it('sets HSTS, nosniff, frame deny and referrer policy on every response, errors included', async () => {
    const { app } = await testEdge();
    for (const path of ['/v2/health/live', '/missing']) {
      const res = await app.request(path);
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('adds a strict CSP to HTML but not to JSON', async () => {
    const { app } = await testEdge();
    const html = await app.request('/page.html');
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    const json = await app.request('/v2/health/live');
    expect(json.headers.get('content-security-policy')).toBeNull();
  });

  it('allows only listed origins and exposes the rate-limit and request-id headers to them', async () => {
    const { app } = await testEdge({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    const allowed = await app.request('/v2/health/live', { headers: { origin: 'https://app.example.com' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('RateLimit-Remaining');
    expect(allowed.headers.get('vary')).toContain('Origin');
    const other = await app.request('/v2/health/live', { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a preflight with 204 before auth, with methods and headers only for allowed origins', async () => {
    const { app, data } = await testEdge({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    const res = await app.request('/v2/models/m/infer', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(res.headers.get('access-control-allow-headers')).toContain('X-Request-Timeout-Ms');
    expect(res.headers.get('access-control-allow-headers')).toContain('tracestate');
    expect(data.lookups).toHaveLength(0);
    const denied = await app.request('/v2/models/m/infer', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    expect(denied.headers.get('access-control-allow-methods')).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { generateApiKey } from '../../../../shared/keys/api-key.ts';
import type { RateLimiter } from '../../../../workers/stores/limits/rate-limiter.ts';
import { bearer, inferBody, makeKey, testEdge } from '../../edge-fixture.ts';

const IP_LIMITS = { RATE_LIMIT_IP_PER_MINUTE: '60', RATE_LIMIT_IP_BURST: '3' };
const from = (ip: string, headers: Record<string, string> = {}) => ({ 'cf-connecting-ip': ip, ...headers });
const post = (headers: Record<string, string>) => ({ method: 'POST', headers, body: inferBody() });
/** A well-formed key nobody issued: each one a fresh prefix, as a key-guessing client sends. */
const guessed = () => bearer(generateApiKey('live').key);

const failing: RateLimiter = {
  limit: async () => {
    throw new Error('ECONNREFUSED 127.0.0.1:6379');
  },
};

describe('auth-failure limit (per client IP)', () => {
  it('charges each 401 to the client IP bucket and puts its RateLimit headers on the 401', async () => {
    const { app } = await testEdge({ env: IP_LIMITS });
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await app.request('/v2/models/m/infer', post(from('198.51.100.7', guessed())));
      expect(res.status).toBe(401);
      expect(res.headers.get('ratelimit-limit')).toBe('3');
      expect(res.headers.get('x-ratelimit-limit')).toBe('3');
      remaining.push(res.headers.get('ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
  });

  it('answers 429 with Retry-After and a JSON body once the IP bucket is empty, without WWW-Authenticate', async () => {
    const { app, services } = await testEdge({ env: IP_LIMITS });
    for (let i = 0; i < 3; i++)
      await app.request('/v2/models/m/infer', post(from('198.51.100.7', guessed())));
    const res = await app.request('/v2/models/m/infer', post(from('198.51.100.7', guessed())));
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(res.headers.get('ratelimit-remaining')).toBe('0');
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(await res.json()).toMatchObject({
      code: 'RATE_LIMITED',
      error: expect.stringContaining('without a valid API key'),
    });
    expect(services.metrics.snapshot().edge_auth_failures_limited_total).toBe(1);
  });

  it('stops key lookups from an exhausted IP until its bucket refills', async () => {
    const { app, data, clock } = await testEdge({ env: IP_LIMITS });
    for (let i = 0; i < 4; i++)
      await app.request('/v2/models/m/infer', post(from('198.51.100.7', guessed())));
    const lookups = data.lookups.length;
    for (let i = 0; i < 5; i++) {
      const res = await app.request('/v2/models/m/infer', post(from('198.51.100.7', guessed())));
      expect(res.status).toBe(429);
    }
    expect(data.lookups.length).toBe(lookups);
    clock.now += 1_000; // one token at 60/min
    const res = await app.request('/v2/models/m/infer', post(from('198.51.100.7', guessed())));
    expect(res.status).toBe(401);
    expect(data.lookups.length).toBe(lookups + 1);
  });

  it('lets a key this isolate already holds through from an exhausted IP, and charges it nothing', async () => {
    const k = await makeKey({ tenant: { requestsPerMinute: 60, burst: 10 } });
    const { app } = await testEdge({ env: IP_LIMITS, keys: [k] });
    const ok = await app.request('/v2/models/m/infer', post(from('198.51.100.7', bearer(k.key))));
    expect(ok.status).toBe(200);
    for (let i = 0; i < 4; i++)
      await app.request('/v2/models/m/infer', post(from('198.51.100.7', guessed())));
    const again = await app.request('/v2/models/m/infer', post(from('198.51.100.7', bearer(k.key))));
    expect(again.status).toBe(200);
    // The key's own bucket, not the IP's.
    expect(again.headers.get('ratelimit-limit')).toBe('10');
    expect(again.headers.get('ratelimit-remaining')).toBe('8');
  });

  it('keeps other IPs and valid keys out of it: a success or a 403 costs the IP nothing', async () => {
    const k = await makeKey({ scopes: ['other-model'] });
    const { app } = await testEdge({ env: IP_LIMITS, keys: [k] });
    for (let i = 0; i < 4; i++)
      await app.request('/v2/models/m/infer', post(from('198.51.100.7', guessed())));
    const elsewhere = await app.request('/v2/models/m/infer', post(from('198.51.100.8', guessed())));
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.headers.get('ratelimit-remaining')).toBe('2');
    for (let i = 0; i < 5; i++) {
      const forbidden = await app.request('/v2/models/m/infer', post(from('198.51.100.9', bearer(k.key))));
      expect(forbidden.status).toBe(403);
    }
    const after = await app.request('/v2/models/m/infer', post(from('198.51.100.9', guessed())));
    expect(after.headers.get('ratelimit-remaining')).toBe('2');
  });

  it('charges a missing key and a body over the limit sent without a key', async () => {
    const { app } = await testEdge({ env: { ...IP_LIMITS, MAX_BODY_BYTES: '1024' } });
    const missing = await app.request('/v2/models/m/infer', post(from('198.51.100.7')));
    expect(missing.status).toBe(401);
    expect(missing.headers.get('ratelimit-remaining')).toBe('2');
    const big = await app.request('/v2/models/m/infer', {
      method: 'POST',
      headers: from('198.51.100.7', { 'content-type': 'application/json' }),
      body: 'x'.repeat(2_000),
    });
    expect(big.status).toBe(413);
    expect(big.headers.get('ratelimit-remaining')).toBe('1');
  });

  it('limits failed admin authentication the same way', async () => {
    const { app } = await testEdge({ env: { ...IP_LIMITS, ADMIN_TOKEN: 'x'.repeat(32) } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await app.request('/admin/v1/tenants', {
        headers: from('198.51.100.7', { authorization: 'Bearer wrong-token' }),
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('with the shared limiter down, falls back to the isolate bucket (open) or leaves the 401 alone (closed)', async () => {
    const open = await testEdge({ env: IP_LIMITS, services: { limiter: failing } });
    const a = await open.app.request('/v2/models/m/infer', post(from('198.51.100.7', guessed())));
    expect(a.status).toBe(401);
    expect(a.headers.get('ratelimit-remaining')).toBe('2');
    const closed = await testEdge({
      env: { ...IP_LIMITS, RATE_LIMIT_FAILURE_MODE: 'closed' },
      services: { limiter: failing },
    });
    const b = await closed.app.request('/v2/models/m/infer', post(from('198.51.100.7', guessed())));
    expect(b.status).toBe(401);
    expect(b.headers.get('ratelimit-remaining')).toBeNull();
  });
});

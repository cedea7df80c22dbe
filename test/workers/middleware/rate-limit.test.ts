import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
import type { RateLimiter } from '../../../workers/stores/limits/rate-limiter.ts';
import { bearer, inferBody, makeKey, testEdge } from '../edge-fixture.ts';

const failing: RateLimiter = {
  limit: async () => {
    throw new Error('ECONNREFUSED 127.0.0.1:6379');
  },
};

const post = (key: string, batch = 1) => ({ method: 'POST', headers: bearer(key), body: inferBody(batch) });

describe('rate limits', () => {
  it('puts RateLimit-* and X-RateLimit-* on every response it lets through', async () => {
    const k = await makeKey({ tenant: { requestsPerMinute: 60, burst: 10 } });
    const { app } = await testEdge({ keys: [k] });
    const res = await app.request('/v2/models/m/infer', post(k.key));
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-limit')).toBe('10');
    expect(res.headers.get('ratelimit-remaining')).toBe('9');
    expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(0);
    expect(res.headers.get('x-ratelimit-limit')).toBe('10');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('9');
    expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(1_700_000_000);
  });

  it('charges a batch its item count', async () => {
    const k = await makeKey({ tenant: { requestsPerMinute: 60, burst: 10 } });
    const { app } = await testEdge({ keys: [k] });
    const res = await app.request('/v2/models/m/infer', post(k.key, 4));
    expect(res.headers.get('ratelimit-remaining')).toBe('6');
  });

  it('answers 429 with Retry-After, the headers and a JSON body once the bucket is empty', async () => {
    const k = await makeKey({ tenant: { requestsPerMinute: 60, burst: 3 } });
    const { app } = await testEdge({ keys: [k] });
    for (let i = 0; i < 3; i += 1)
      expect((await app.request('/v2/models/m/infer', post(k.key))).status).toBe(200);
    const res = await app.request('/v2/models/m/infer', post(k.key));
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(res.headers.get('ratelimit-remaining')).toBe('0');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(await res.json()).toMatchObject({
      code: 'RATE_LIMITED',
      error: expect.stringContaining('rate limit'),
    });
  });

  it('refills over time at the plan rate', async () => {
    const k = await makeKey({ tenant: { requestsPerMinute: 60, burst: 1 } });
    const { app, clock } = await testEdge({ keys: [k] });
    expect((await app.request('/v2/models/m/infer', post(k.key))).status).toBe(200);
    expect((await app.request('/v2/models/m/infer', post(k.key))).status).toBe(429);
    clock.now += 1_000;
    expect((await app.request('/v2/models/m/infer', post(k.key))).status).toBe(200);
  });

  it('keeps separate buckets per key', async () => {
    const a = await makeKey({ tenant: { requestsPerMinute: 60, burst: 1 } });
    const b = await makeKey({ tenant: { requestsPerMinute: 60, burst: 1 } });
    const { app } = await testEdge({ keys: [a, b] });
    expect((await app.request('/v2/models/m/infer', post(a.key))).status).toBe(200);
    expect((await app.request('/v2/models/m/infer', post(a.key))).status).toBe(429);
    expect((await app.request('/v2/models/m/infer', post(b.key))).status).toBe(200);
  });

  it('refuses a batch larger than the burst with a 400 saying to split it', async () => {
    const k = await makeKey({ tenant: { requestsPerMinute: 60, burst: 5 } });
    const { app } = await testEdge({ keys: [k] });
    const res = await app.request('/v2/models/m/infer', post(k.key, 6));
    expect(res.status).toBe(400);
    expect((await res.json()).error).toContain('split');
  });

  it('limits unauthenticated routes per CF-Connecting-IP', async () => {
    const { app } = await testEdge({ env: { RATE_LIMIT_IP_PER_MINUTE: '60', RATE_LIMIT_IP_BURST: '2' } });
    const ip = (addr: string) => ({ headers: { 'cf-connecting-ip': addr } });
    expect((await app.request('/v2', ip('198.51.100.1'))).status).toBe(200);
    expect((await app.request('/v2', ip('198.51.100.1'))).status).toBe(200);
    expect((await app.request('/v2', ip('198.51.100.1'))).status).toBe(429);
    expect((await app.request('/v2', ip('198.51.100.2'))).status).toBe(200);
  });

  it('never limits the health probes (no 429, no limiter call), even failing closed', async () => {
    const { app } = await testEdge({
      env: { RATE_LIMIT_IP_PER_MINUTE: '60', RATE_LIMIT_IP_BURST: '1', RATE_LIMIT_FAILURE_MODE: 'closed' },
      services: { limiter: failing },
    });
    for (let i = 0; i < 5; i++) {
      for (const path of ['/v2/health/live', '/v2/health/ready']) {
        const res = await app.request(path, { headers: { 'cf-connecting-ip': '198.51.100.9' } });
        expect(res.status, path).toBe(200);
        expect(res.headers.get('ratelimit-limit')).toBeNull();
      }
    }
    expect((await app.request('/v2', { headers: { 'cf-connecting-ip': '198.51.100.9' } })).status).toBe(503);
  });

  it('under Node, buckets by the TCP peer and ignores a CF-Connecting-IP any client could send', async () => {
    const { app } = await testEdge({ env: { RATE_LIMIT_IP_PER_MINUTE: '60', RATE_LIMIT_IP_BURST: '2' } });
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
      const statuses: number[] = [];
      for (const spoofed of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
        const res = await fetch(url, { headers: { 'cf-connecting-ip': spoofed } });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails open to the isolate limiter when the shared limiter is down, and counts it', async () => {
    const k = await makeKey({ tenant: { requestsPerMinute: 60, burst: 2 } });
    const edge = await testEdge({ keys: [k] });
    const { app, services } = await testEdge({
      keys: [k],
      services: { limiter: failing, fallbackLimiter: edge.services.fallbackLimiter },
    });
    expect((await app.request('/v2/models/m/infer', post(k.key))).status).toBe(200);
    expect((await app.request('/v2/models/m/infer', post(k.key))).status).toBe(200);
    // The fallback still limits: the isolate bucket is exhausted.
    expect((await app.request('/v2/models/m/infer', post(k.key))).status).toBe(429);
    expect(services.metrics.snapshot()).toMatchObject({
      edge_rate_limit_redis_failures_total: 3,
      edge_rate_limit_fail_open_total: 3,
    });
  });

  it('fails closed with 503 naming Redis when RATE_LIMIT_FAILURE_MODE=closed', async () => {
    const k = await makeKey();
    const { app, services, logs } = await testEdge({
      keys: [k],
      env: { RATE_LIMIT_FAILURE_MODE: 'closed' },
      services: { limiter: failing },
    });
    const res = await app.request('/v2/models/m/infer', post(k.key));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
      error: expect.stringContaining('Redis'),
    });
    expect(services.metrics.snapshot().edge_rate_limit_fail_closed_total).toBe(1);
    expect(logs.some((l) => l.includes('refusing (closed)'))).toBe(true);
  });
});

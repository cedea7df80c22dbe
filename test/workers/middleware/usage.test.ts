import { describe, expect, it } from 'vitest';
import { usageEventSchema } from '../../../shared/usage/event.ts';
import { createBufferedUsageSink } from '../../../workers/stores/usage/usage-sink.ts';
import { bearer, inferBody, makeKey, testEdge } from '../edge-fixture.ts';

describe('usage events', () => {
  it('emits one valid event per authenticated request, after the response, with model, status and items', async () => {
    const k = await makeKey();
    const { app, data, settle, services } = await testEdge({ keys: [k], env: { USAGE_BATCH_SIZE: '1' } });
    const res = await app.request('/v2/models/ocr-cls/infer', {
      method: 'POST',
      headers: bearer(k.key, { 'x-request-id': 'usage-request-1' }),
      body: inferBody(3),
    });
    expect(res.status).toBe(200);
    await settle();
    expect(data.usage).toHaveLength(1);
    const event = usageEventSchema.parse(data.usage[0]);
    expect(event).toMatchObject({
      tenantId: k.record.tenantId,
      keyId: k.record.keyId,
      model: 'ocr-cls',
      status: 200,
      items: 3,
      requestId: 'usage-request-1',
      route: 'POST /v2/models/:name/infer',
      cache: 'NONE',
    });
    expect(services.metrics.snapshot().edge_usage_events_total).toBe(1);
  });

  it('records refused requests of a valid key (403 scope), a 401 without a tenant, and no other keyless request', async () => {
    const k = await makeKey({ scopes: ['a'] });
    const { app, data, settle } = await testEdge({ keys: [k], env: { USAGE_BATCH_SIZE: '1' } });
    await app.request('/v2/models/b/infer', { method: 'POST', headers: bearer(k.key), body: inferBody(1) });
    await app.request('/v2/models/a/infer', { method: 'POST', body: inferBody(1) });
    await app.request('/v2/health/live');
    await settle();
    expect(data.usage.map((e) => [e.status, e.tenantId])).toEqual([
      [403, k.record.tenantId],
      // Counted by the edge-wide rollups as an auth failure; no tenant report sees it.
      [401, null],
    ]);
    expect(usageEventSchema.parse(data.usage[1])).toMatchObject({ keyId: null, items: 0, cache: 'NONE' });
    await app.request('/v2/models/a', { headers: bearer(k.key) });
    await settle();
    expect(data.usage.map((e) => e.status)).toEqual([403, 401, 200]);
  });

  it("records a per-IP 429 and a key's 429 for the rollups, and none of the operator's own requests", async () => {
    const k = await makeKey({ tenant: { requestsPerMinute: 1, burst: 1 } });
    const token = 'operator-token-0123456789abcdef';
    const { app, data, settle } = await testEdge({
      keys: [k],
      env: {
        USAGE_BATCH_SIZE: '1',
        RATE_LIMIT_IP_PER_MINUTE: '1',
        RATE_LIMIT_IP_BURST: '1',
        ADMIN_TOKEN: token,
      },
    });
    const ip = { 'cf-connecting-ip': '203.0.113.9' };
    expect((await app.request('/v2', { headers: ip })).status).toBe(200);
    expect((await app.request('/v2', { headers: ip })).status).toBe(429);
    for (let i = 0; i < 2; i += 1) await app.request('/v2/models/m', { headers: bearer(k.key) });
    expect((await app.request('/admin/v1/metrics', { headers: bearer(token) })).status).toBe(200);
    await settle();
    expect(data.usage.map((e) => [e.status, e.tenantId])).toEqual([
      [429, null],
      [200, k.record.tenantId],
      [429, k.record.tenantId],
    ]);
    for (const e of data.usage) usageEventSchema.parse(e);
  });

  it('refuses a tenant-less event for anything but a 401, 403 or 429, and parses events without originMs', () => {
    const base = {
      id: crypto.randomUUID(),
      ts: 1,
      tenantId: null,
      keyId: null,
      model: null,
      version: null,
      route: 'GET /',
      status: 429,
      latencyMs: 1,
      cache: 'NONE' as const,
      items: 0,
      requestId: 'r',
      originId: null,
    };
    expect(usageEventSchema.safeParse(base).success).toBe(true);
    expect(usageEventSchema.safeParse({ ...base, status: 200 }).success).toBe(false);
    expect(usageEventSchema.parse({ ...base, originMs: 12.5 }).originMs).toBe(12.5);
  });

  it('buffers without Redis and inserts in batches of USAGE_BATCH_SIZE', async () => {
    const k = await makeKey();
    const { app, data, settle } = await testEdge({
      keys: [k],
      env: { USAGE_BATCH_SIZE: '3', USAGE_FLUSH_INTERVAL_MS: '600000' },
    });
    for (let i = 0; i < 2; i += 1) await app.request('/v2/models/m', { headers: bearer(k.key) });
    await settle();
    expect(data.usage).toHaveLength(0);
    await app.request('/v2/models/m', { headers: bearer(k.key) });
    await settle();
    expect(data.usage).toHaveLength(3);
    expect(new Set(data.usage.map((e) => e.id)).size).toBe(3);
  });

  it('puts a failed batch back and writes it on the next flush', async () => {
    let fail = true;
    const written: string[] = [];
    const sink = createBufferedUsageSink({
      insert: async (events) => {
        if (fail) throw new Error('db down');
        written.push(...events.map((e) => e.id));
      },
      batchSize: 2,
      flushIntervalMs: 1_000_000,
      now: () => 0,
    });
    const event = (id: string) => ({
      id,
      ts: 1,
      tenantId: crypto.randomUUID(),
      keyId: null,
      model: null,
      version: null,
      route: 'GET /',
      status: 200,
      latencyMs: 1,
      cache: 'NONE' as const,
      items: 0,
      requestId: 'r',
      originId: null,
    });
    await sink.record(event('a'));
    await expect(sink.record(event('b'))).rejects.toThrow('db down');
    fail = false;
    await sink.flush();
    expect(written).toEqual(['a', 'b']);
  });
});

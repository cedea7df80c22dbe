import { describe, expect, it } from 'vitest';
import { bearer, inferBody, makeKey, testEdge } from '../edge-fixture.ts';

const infer = (key: string | null) => ({
  method: 'POST',
  headers: key ? bearer(key) : { 'content-type': 'application/json' },
  body: inferBody(1),
});

describe('auth', () => {
  it('answers 401 with WWW-Authenticate when the Authorization header is missing', async () => {
    const { app } = await testEdge();
    const res = await app.request('/v2/models/m/infer', infer(null));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    expect(await res.json()).toMatchObject({
      code: 'UNAUTHENTICATED',
      error: expect.stringContaining('Authorization'),
    });
  });

  it('answers 401 for a malformed key without asking the database', async () => {
    const { app, data } = await testEdge();
    const res = await app.request('/v2/models/m/infer', infer('not-a-key'));
    expect(res.status).toBe(401);
    expect((await res.json()).error).toContain('malformed');
    expect(data.lookups).toHaveLength(0);
  });

  it('answers 401 for an unknown prefix and for a known prefix with the wrong secret', async () => {
    const k = await makeKey();
    const { app } = await testEdge({ keys: [k] });
    const unknown = await makeKey();
    expect((await app.request('/v2/models/m/infer', infer(unknown.key))).status).toBe(401);
    const wrongSecret = `${k.key.slice(0, -4)}AAAA`;
    const res = await app.request('/v2/models/m/infer', infer(wrongSecret));
    expect(res.status).toBe(401);
    expect((await res.json()).error).toBe('invalid API key');
  });

  it('lets a valid key through and sets the tenant', async () => {
    const k = await makeKey();
    const { app } = await testEdge({ keys: [k] });
    const res = await app.request('/v2/models/m/infer', infer(k.key));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ model_name: 'm', auth: k.record.tenantId });
  });

  it('answers 401 for an expired key and for a revoked key', async () => {
    const expired = await makeKey({ expiresAt: new Date(1_600_000_000_000).toISOString() });
    const revoked = await makeKey({ revokedAt: new Date(1_600_000_000_000).toISOString() });
    const { app } = await testEdge({ keys: [expired, revoked] });
    const a = await app.request('/v2/models/m/infer', infer(expired.key));
    expect(a.status).toBe(401);
    expect((await a.json()).error).toContain('expired');
    const b = await app.request('/v2/models/m/infer', infer(revoked.key));
    expect(b.status).toBe(401);
    expect((await b.json()).error).toContain('revoked');
  });

  it('answers 403 for a model outside the key scopes and for a disabled tenant', async () => {
    const scoped = await makeKey({ scopes: ['ocr-cls'] });
    const disabled = await makeKey({ tenant: { disabled: true } });
    const { app } = await testEdge({ keys: [scoped, disabled] });
    expect((await app.request('/v2/models/ocr-cls/infer', infer(scoped.key))).status).toBe(200);
    const out = await app.request('/v2/models/ocr-det/infer', infer(scoped.key));
    expect(out.status).toBe(403);
    expect((await out.json()).error).toContain('ocr-det');
    const meta = await app.request('/v2/models/ocr-det', { headers: bearer(scoped.key) });
    expect(meta.status).toBe(403);
    expect((await app.request('/v2/models/m/infer', infer(disabled.key))).status).toBe(403);
  });

  it('serves a warm key from isolate memory and asks Postgres again only after the memory TTL', async () => {
    const k = await makeKey();
    const { app, data, clock } = await testEdge({ keys: [k], env: { AUTH_MEMORY_TTL_MS: '5000' } });
    for (let i = 0; i < 5; i += 1)
      expect((await app.request('/v2/models/m/infer', infer(k.key))).status).toBe(200);
    expect(data.lookups).toEqual([k.record.prefix]);
    clock.now += 5_001;
    await app.request('/v2/models/m/infer', infer(k.key));
    expect(data.lookups).toEqual([k.record.prefix, k.record.prefix]);
  });

  it('stops accepting a key revoked in the database within AUTH_MEMORY_TTL_MS (no Redis tier)', async () => {
    const k = await makeKey();
    const { app, data, clock } = await testEdge({ keys: [k], env: { AUTH_MEMORY_TTL_MS: '5000' } });
    expect((await app.request('/v2/models/m/infer', infer(k.key))).status).toBe(200);
    data.records.set(k.record.prefix, { ...k.record, revokedAt: new Date(clock.now).toISOString() });
    clock.now += 4_000;
    // Still inside the stated bound: the isolate may keep serving from memory.
    expect((await app.request('/v2/models/m/infer', infer(k.key))).status).toBe(200);
    clock.now += 1_001;
    expect((await app.request('/v2/models/m/infer', infer(k.key))).status).toBe(401);
  });

  it('caches unknown prefixes negatively so repeated guesses reach Postgres once per TTL', async () => {
    const { app, data } = await testEdge({ env: { AUTH_NEGATIVE_TTL_MS: '5000' } });
    const guess = await makeKey();
    for (let i = 0; i < 4; i += 1) await app.request('/v2/models/m/infer', infer(guess.key));
    expect(data.lookups).toEqual([guess.record.prefix]);
  });

  it('answers 503 naming Postgres when a cold key cannot be looked up', async () => {
    const k = await makeKey();
    const { app, data } = await testEdge({ keys: [k] });
    data.failLookups = true;
    const res = await app.request('/v2/models/m/infer', infer(k.key));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
      error: expect.stringContaining('Postgres'),
    });
    expect(res.headers.get('retry-after')).toBe('5');
  });

  it('keeps a known key working while Postgres is down, up to AUTH_STALE_IF_ERROR_SECONDS (no Redis tier)', async () => {
    const k = await makeKey();
    const { app, data, clock, services } = await testEdge({
      keys: [k],
      env: { AUTH_MEMORY_TTL_MS: '5000', AUTH_STALE_IF_ERROR_SECONDS: '600' },
    });
    expect((await app.request('/v2/models/m/infer', infer(k.key))).status).toBe(200);
    data.failLookups = true;
    clock.now += 60_000;
    expect((await app.request('/v2/models/m/infer', infer(k.key))).status).toBe(200);
    expect(services.metrics.snapshot().edge_auth_stale_served_total).toBe(1);
    clock.now += 600_000;
    const late = await app.request('/v2/models/m/infer', infer(k.key));
    expect(late.status).toBe(503);
  });

  it('never serves a stale copy of a key this isolate invalidated, or one Postgres no longer has', async () => {
    const k = await makeKey();
    const gone = await makeKey();
    const { app, data, clock, services } = await testEdge({
      keys: [k, gone],
      env: { AUTH_MEMORY_TTL_MS: '5000' },
    });
    expect((await app.request('/v2/models/m/infer', infer(k.key))).status).toBe(200);
    expect((await app.request('/v2/models/m/infer', infer(gone.key))).status).toBe(200);
    await services.keys.invalidate(k.record.prefix);
    data.records.delete(gone.record.prefix);
    clock.now += 6_000;
    expect((await app.request('/v2/models/m/infer', infer(gone.key))).status).toBe(401);
    data.failLookups = true;
    clock.now += 6_000;
    expect((await app.request('/v2/models/m/infer', infer(k.key))).status).toBe(503);
    expect((await app.request('/v2/models/m/infer', infer(gone.key))).status).toBe(503);
  });

  it('answers 503 at once with stale-if-error turned off (AUTH_STALE_IF_ERROR_SECONDS=0)', async () => {
    const k = await makeKey();
    const { app, data, clock } = await testEdge({
      keys: [k],
      env: { AUTH_MEMORY_TTL_MS: '5000', AUTH_STALE_IF_ERROR_SECONDS: '0' },
    });
    expect((await app.request('/v2/models/m/infer', infer(k.key))).status).toBe(200);
    data.failLookups = true;
    clock.now += 6_000;
    expect((await app.request('/v2/models/m/infer', infer(k.key))).status).toBe(503);
  });

  it('batches last_used_at writes: one write per interval, not one per request', async () => {
    const k = await makeKey();
    const { app, data, settle, clock } = await testEdge({
      keys: [k],
      env: { AUTH_TOUCH_INTERVAL_MS: '30000' },
    });
    for (let i = 0; i < 10; i += 1) await app.request('/v2/models/m/infer', infer(k.key));
    await settle();
    expect(data.touched).toEqual([[k.record.prefix]]);
    clock.now += 30_000;
    await app.request('/v2/models/m/infer', infer(k.key));
    await settle();
    expect(data.touched).toHaveLength(2);
  });

  it('accepts the operator token on the admin API and refuses a model-only key there', async () => {
    const token = 'operator-token-0123456789abcdef';
    const k = await makeKey({ scopes: ['*'] });
    const { app } = await testEdge({ env: { ADMIN_TOKEN: token }, keys: [k] });
    expect((await app.request('/admin/v1/metrics', { headers: bearer(token) })).status).toBe(200);
    expect(
      (await app.request('/admin/v1/metrics', { headers: bearer('wrong-operator-token-000000000') })).status,
    ).toBe(401);
    const res = await app.request('/admin/v1/fleet', { headers: bearer(k.key) });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toContain('admin');
  });
});

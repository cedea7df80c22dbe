import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit, verifyAuditChain } from '../../../../drizzle/queries/audit.ts';
import { type DbEdge, inferWith, operator, startDbEdge } from '../../db-fixture.ts';

let t: DbEdge;

beforeAll(async () => {
  t = await startDbEdge({ USAGE_BATCH_SIZE: '1' });
});
afterAll(async () => {
  await t?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely shaped JSON answers field by field
async function json(res: Response): Promise<Record<string, any>> {
  return res.json();
}

async function createTenant(name: string, extra: Record<string, unknown> = {}) {
  const res = await t.request('/admin/v1/tenants', {
    method: 'POST',
    headers: operator(),
    body: JSON.stringify({ name, ...extra }),
  });
  expect(res.status).toBe(201);
  return json(res);
}

async function createKey(tenant: string, body: Record<string, unknown>, headers = operator()) {
  return t.request(`/admin/v1/tenants/${tenant}/keys`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
}

describe('admin API against Postgres', () => {
  it('creates a tenant for the operator, refuses a duplicate name with 409 and lists it', async () => {
    const tenant = await createTenant('acme', { plan: 'pro' });
    expect(tenant).toMatchObject({ name: 'acme', plan: 'pro', requestsPerMinute: 600, burst: 100 });
    const dup = await t.request('/admin/v1/tenants', {
      method: 'POST',
      headers: operator(),
      body: '{"name":"acme"}',
    });
    expect(dup.status).toBe(409);
    const list = await json(await t.request('/admin/v1/tenants', { headers: operator() }));
    expect(list.tenants.map((x: { name: string }) => x.name)).toContain('acme');
  });

  it('answers 400, not 503, when Postgres refuses a value from the request as data (a NUL byte)', async () => {
    await createTenant('nul-co');
    const revoke = await t.request('/admin/v1/tenants/nul-co/keys/%00/revoke', {
      method: 'POST',
      headers: operator(),
    });
    expect(revoke.status).toBe(400);
    expect(await json(revoke)).toMatchObject({
      code: 'INVALID_REQUEST',
      error: expect.stringContaining('cannot be stored'),
    });
    const named = await createKey('nul-co', { name: 'ci\u0000' });
    expect(named.status).toBeLessThan(500);
    expect(named.status).toBeGreaterThanOrEqual(400);
  });

  it('validates bodies with messages naming the field, as 400 JSON', async () => {
    const res = await t.request('/admin/v1/tenants', {
      method: 'POST',
      headers: operator(),
      body: '{"name":"x","plan":"gold"}',
    });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toContain('plan');
    const bad = await t.request('/admin/v1/tenants', {
      method: 'POST',
      headers: operator(),
      body: '{not json',
    });
    expect(bad.status).toBe(400);
    const extra = await t.request('/admin/v1/tenants', {
      method: 'POST',
      headers: operator(),
      body: '{"name":"ok-name","evil":1}',
    });
    expect(extra.status).toBe(400);
  });

  it('shows a new key once, lists it by prefix without secrets, and the key works for inference', async () => {
    await createTenant('keys-co');
    const res = await createKey('keys-co', { name: 'ci', scopes: ['ocr-cls'] });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const created = await json(res);
    expect(created.key).toMatch(/^ais_live_[a-z0-9]{12}_[A-Za-z0-9]{32,}$/);
    const list = await t.request('/admin/v1/tenants/keys-co/keys', { headers: operator() });
    const text = await list.text();
    expect(text).toContain(created.record.prefix);
    expect(text).not.toContain(created.key.split('_')[3]);
    expect(text).not.toContain('secretHash');
    expect((await t.request('/v2/models/ocr-cls/infer', inferWith(created.key))).status).toBe(200);
    expect((await t.request('/v2/models/ocr-det/infer', inferWith(created.key))).status).toBe(403);
  });

  it('revokes a key: this edge refuses it at once, and the revocation is in the audit chain', async () => {
    await createTenant('revoke-co');
    const created = await json(await createKey('revoke-co', {}));
    expect((await t.request('/v2/models/m/infer', inferWith(created.key))).status).toBe(200);
    const res = await t.request(`/admin/v1/tenants/revoke-co/keys/${created.record.prefix}/revoke`, {
      method: 'POST',
      headers: operator(),
    });
    expect(res.status).toBe(200);
    expect((await json(res)).alreadyRevoked).toBe(false);
    const after = await t.request('/v2/models/m/infer', inferWith(created.key));
    expect(after.status).toBe(401);
    expect((await json(after)).error).toContain('revoked');
    const again = await json(
      await t.request(`/admin/v1/tenants/revoke-co/keys/${created.record.prefix}/revoke`, {
        method: 'POST',
        headers: operator(),
      }),
    );
    expect(again.alreadyRevoked).toBe(true);
    const entries = await listAudit(t.db.primary, { target: `key:${created.record.prefix}` });
    expect(entries.map((e) => e.action).sort()).toEqual(['key.created', 'key.revoked']);
    expect(await verifyAuditChain(t.db.primary)).toMatchObject({ ok: true });
  });

  it('rotates a key: the new key works at once and the old one keeps working through the overlap', async () => {
    await createTenant('rotate-co');
    const created = await json(await createKey('rotate-co', {}));
    const res = await t.request(`/admin/v1/tenants/rotate-co/keys/${created.record.id}/rotate`, {
      method: 'POST',
      headers: operator(),
      body: JSON.stringify({ overlapSeconds: 600 }),
    });
    expect(res.status).toBe(200);
    const rotated = await json(res);
    expect(rotated.newKey.rotatedFromId).toBe(created.record.id);
    expect(rotated.oldKey.expiresAt).not.toBeNull();
    expect((await t.request('/v2/models/m/infer', inferWith(rotated.key))).status).toBe(200);
    expect((await t.request('/v2/models/m/infer', inferWith(created.key))).status).toBe(200);
    const immediate = await json(
      await t.request(`/admin/v1/tenants/rotate-co/keys/${rotated.newKey.prefix}/rotate`, {
        method: 'POST',
        headers: operator(),
        body: JSON.stringify({ overlapSeconds: 0 }),
      }),
    );
    expect((await t.request('/v2/models/m/infer', inferWith(rotated.key))).status).toBe(401);
    expect((await t.request('/v2/models/m/infer', inferWith(immediate.key))).status).toBe(200);
  });

  it('keeps a private model to its owner: other tenants’ keys get 403 on infer, metadata and readiness', async () => {
    const owner = await createTenant('owner-co');
    await createTenant('stranger-co');
    const ownerKey = (await json(await createKey('owner-co', {}))).key as string;
    const strangerKey = (await json(await createKey('stranger-co', {}))).key as string;
    // Used before it turns private: its answer may sit in the caches; it must not be served to the stranger.
    expect((await t.request('/v2/models/secret/infer', inferWith(strangerKey))).status).toBe(200);
    const patched = await t.request('/admin/v1/models/secret', {
      method: 'PATCH',
      headers: operator(),
      body: JSON.stringify({ visibility: 'private', ownerTenantId: owner.id }),
    });
    expect(patched.status).toBe(200);
    expect((await t.request('/v2/models/secret/infer', inferWith(ownerKey))).status).toBe(200);
    const refused = await t.request('/v2/models/secret/infer', inferWith(strangerKey));
    expect(refused.status).toBe(403);
    expect(await json(refused)).toMatchObject({
      code: 'FORBIDDEN',
      error: 'API key is not allowed to use model "secret"',
    });
    const get = (path: string, key: string) =>
      t.request(path, { headers: { authorization: `Bearer ${key}` } });
    expect((await get('/v2/models/secret', strangerKey)).status).toBe(403);
    expect((await get('/v2/models/secret/ready', strangerKey)).status).toBe(403);
    expect((await get('/v2/models/secret', ownerKey)).status).toBe(200);
  });

  it('confines an admin-scoped tenant key to its own tenant', async () => {
    const own = await createTenant('self-co');
    await createTenant('other-co');
    const adminKey = (await json(await createKey('self-co', { scopes: ['admin', '*'] }))).key as string;
    const as = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    expect((await createKey('self-co', { scopes: ['m'] }, as)).status).toBe(201);
    expect((await createKey(own.id, { scopes: ['m'] }, as)).status).toBe(201);
    expect((await createKey('other-co', { scopes: ['m'] }, as)).status).toBe(404);
    expect((await t.request('/admin/v1/tenants/other-co/keys', { headers: as })).status).toBe(404);
    const tenants = await json(await t.request('/admin/v1/tenants', { headers: as }));
    expect(tenants.tenants.map((x: { name: string }) => x.name)).toEqual(['self-co']);
    expect(
      (await t.request('/admin/v1/tenants', { method: 'POST', headers: as, body: '{"name":"x"}' })).status,
    ).toBe(403);
    expect(
      (await t.request('/admin/v1/models/m', { method: 'PATCH', headers: as, body: '{"cacheable":false}' }))
        .status,
    ).toBe(403);
    expect((await t.request('/admin/v1/fleet', { headers: as })).status).toBe(403);
  });

  it('sets model cache settings (audited) and lists them with the defaults', async () => {
    const res = await t.request('/admin/v1/models/ocr-cls', {
      method: 'PATCH',
      headers: operator(),
      body: JSON.stringify({ cacheTtlSeconds: 60, shareable: true }),
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({
      name: 'ocr-cls',
      cacheable: true,
      cacheTtlSeconds: 60,
      shareable: true,
    });
    const list = await json(await t.request('/admin/v1/models', { headers: operator() }));
    expect(list.defaults).toMatchObject({ cacheable: true, cacheTtlSeconds: 300 });
    expect(list.models.find((m: { name: string }) => m.name === 'ocr-cls')).toMatchObject({
      cacheTtlSeconds: 60,
    });
    const tooLong = await t.request('/admin/v1/models/ocr-cls', {
      method: 'PATCH',
      headers: operator(),
      body: '{"cacheTtlSeconds":999999}',
    });
    expect(tooLong.status).toBe(400);
    const empty = await t.request('/admin/v1/models/ocr-cls', {
      method: 'PATCH',
      headers: operator(),
      body: '{}',
    });
    expect(empty.status).toBe(400);
    const audited = await listAudit(t.db.primary, { action: 'model.updated' });
    expect(audited.filter((e) => e.target === 'model:ocr-cls')).toHaveLength(1);
  });

  it('reports usage written by the edge itself, by time range, paginated', async () => {
    await createTenant('usage-co');
    const key = (await json(await createKey('usage-co', {}))).key as string;
    for (let i = 0; i < 3; i += 1) await t.request('/v2/models/ocr-cls/infer', inferWith(key, 2));
    await t.settle();
    await t.edge.services.usage.flush();
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const page1 = await json(
      await t.request(`/admin/v1/tenants/usage-co/usage?from=${from}&to=${to}&limit=2`, {
        headers: operator(),
      }),
    );
    expect(page1.totals).toMatchObject({ requests: 3, items: 6 });
    expect(page1.events).toHaveLength(2);
    expect(page1.nextCursor).toBeTruthy();
    const page2 = await json(
      await t.request(
        `/admin/v1/tenants/usage-co/usage?from=${from}&to=${to}&limit=2&cursor=${page1.nextCursor}`,
        { headers: operator() },
      ),
    );
    expect(page2.events).toHaveLength(1);
    expect(page2.nextCursor).toBeNull();
    const bad = await t.request('/admin/v1/tenants/usage-co/usage?from=yesterday&to=now', {
      headers: operator(),
    });
    expect(bad.status).toBe(400);
  });

  it("shows the static fleet without Redis and this isolate's counters", async () => {
    const fleet = await json(await t.request('/admin/v1/fleet', { headers: operator() }));
    expect(fleet.source).toBe('static');
    expect(fleet.origins.map((o: { id: string }) => o.id)).toEqual(['stub']);
    const metrics = await json(await t.request('/admin/v1/metrics', { headers: operator() }));
    expect(metrics.counters.edge_auth_db_lookups_total).toBeGreaterThan(0);
  });
});

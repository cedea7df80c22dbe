import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AuditRecord, listAudit, verifyAuditChain } from '../../../../drizzle/queries/audit.ts';
import { breakAuditLog as breakAudit, repairAuditLog as repairAudit } from '../../../support/audit-fault.ts';
import { type DbEdge, inferWith, operator, startDbEdge } from '../../db-fixture.ts';

// The admin API's audit trail against a real Postgres: a change and its audit row commit together (or not at
// all), each row names the request it came in (id, client address, user agent), and refused attempts are
// written too, within a bound.

let t: DbEdge;

beforeAll(async () => {
  t = await startDbEdge();
});
afterAll(async () => {
  await t?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely shaped JSON answers field by field
async function json(res: Response): Promise<Record<string, any>> {
  return res.json();
}

let ipCounter = 0;
/** A client address of the test's own (the per-IP auth-failure bucket and the refusal sampler key on it). */
function freshIp(): string {
  ipCounter += 1;
  return `198.51.100.${ipCounter}`;
}

function asClient(ip: string, requestId: string, extra: Record<string, string> = {}) {
  return operator({
    'cf-connecting-ip': ip,
    'x-request-id': requestId,
    'user-agent': 'audit-test/1.0 (+ci)',
    ...extra,
  });
}

async function post(path: string, body: unknown, headers = operator()): Promise<Response> {
  return t.request(path, {
    method: 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely shaped JSON answers field by field
async function newTenant(name: string): Promise<Record<string, any>> {
  const res = await post('/admin/v1/tenants', { name });
  expect(res.status).toBe(201);
  return json(res);
}

async function newKey(tenant: string, body: Record<string, unknown> = {}) {
  const res = await post(`/admin/v1/tenants/${tenant}/keys`, body);
  expect(res.status).toBe(201);
  return json(res);
}

async function one(query: ReturnType<typeof sql>): Promise<Record<string, unknown> | undefined> {
  const result = (await t.db.primary.execute(query)) as { rows: Record<string, unknown>[] };
  return result.rows[0];
}

async function count(query: ReturnType<typeof sql>): Promise<number> {
  return Number((await one(query))?.['n'] ?? 0);
}

const breakAuditLog = () => breakAudit(t.db.primary);
const repairAuditLog = () => repairAudit(t.db.primary);

function expectPostgres503(res: Response, body: Record<string, unknown>): void {
  expect(res.status).toBe(503);
  expect(body).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', error: expect.stringContaining('Postgres') });
}

describe('when the audit append fails, the admin change is not made', () => {
  afterEach(async () => {
    await repairAuditLog();
    expect(await verifyAuditChain(t.db.primary)).toMatchObject({ ok: true });
  });

  it('key create: 503 naming Postgres, no row in api_keys, no secret in the answer', async () => {
    const tenant = await newTenant('fail-create-co');
    await breakAuditLog();
    const res = await post('/admin/v1/tenants/fail-create-co/keys', { name: 'lost' });
    const text = await res.text();
    expectPostgres503(res, JSON.parse(text));
    expect(text).not.toContain('ais_');
    expect(await count(sql`SELECT count(*) AS n FROM api_keys WHERE tenant_id = ${tenant.id}`)).toBe(0);
  });

  it('tenant create: 503 naming Postgres, no row in tenants', async () => {
    await breakAuditLog();
    const res = await post('/admin/v1/tenants', { name: 'ghost-co' });
    expectPostgres503(res, await json(res));
    expect(await count(sql`SELECT count(*) AS n FROM tenants WHERE name = 'ghost-co'`)).toBe(0);
  });

  it('key revoke: 503 naming Postgres, the key stays active and keeps working', async () => {
    await newTenant('fail-revoke-co');
    const created = await newKey('fail-revoke-co');
    await breakAuditLog();
    const res = await post(
      `/admin/v1/tenants/fail-revoke-co/keys/${created.record.prefix}/revoke`,
      undefined,
    );
    expectPostgres503(res, await json(res));
    const row = await one(sql`SELECT revoked_at FROM api_keys WHERE id = ${created.record.id}`);
    expect(row?.['revoked_at']).toBeNull();
    await repairAuditLog();
    expect((await t.request('/v2/models/m/infer', inferWith(created.key))).status).toBe(200);
  });

  it('key rotate: 503 naming Postgres, no successor key, the old key keeps its expiry', async () => {
    await newTenant('fail-rotate-co');
    const created = await newKey('fail-rotate-co');
    await breakAuditLog();
    const res = await post(`/admin/v1/tenants/fail-rotate-co/keys/${created.record.id}/rotate`, {
      overlapSeconds: 0,
    });
    const text = await res.text();
    expectPostgres503(res, JSON.parse(text));
    expect(text).not.toContain('ais_');
    expect(
      await count(sql`SELECT count(*) AS n FROM api_keys WHERE rotated_from_id = ${created.record.id}`),
    ).toBe(0);
    const row = await one(sql`SELECT expires_at FROM api_keys WHERE id = ${created.record.id}`);
    expect(row?.['expires_at']).toBeNull();
  });

  it('model patch: 503 naming Postgres, the settings are unchanged', async () => {
    await breakAuditLog();
    const res = await t.request('/admin/v1/models/fail-model', {
      method: 'PATCH',
      headers: operator(),
      body: JSON.stringify({ cacheable: false }),
    });
    expectPostgres503(res, await json(res));
    expect(await count(sql`SELECT count(*) AS n FROM models WHERE name = 'fail-model'`)).toBe(0);
  });
});

describe('each admin change writes one audit row naming its request', () => {
  async function rowsFor(target: string, action: string): Promise<AuditRecord[]> {
    return listAudit(t.db.primary, { target, action });
  }

  it('tenant create, key create, rotate, revoke and model patch carry request id, client IP and user agent', async () => {
    const ip = freshIp();
    const tenantRes = await post('/admin/v1/tenants', { name: 'traced-co' }, asClient(ip, 'req-tenant-0001'));
    expect(tenantRes.status).toBe(201);
    const tenant = await json(tenantRes);
    const keyRes = await post('/admin/v1/tenants/traced-co/keys', {}, asClient(ip, 'req-key-create-01'));
    const created = await json(keyRes);
    const rotateRes = await post(
      `/admin/v1/tenants/traced-co/keys/${created.record.prefix}/rotate`,
      { overlapSeconds: 60 },
      asClient(ip, 'req-key-rotate-01'),
    );
    expect(rotateRes.status).toBe(200);
    const revokeRes = await post(
      `/admin/v1/tenants/traced-co/keys/${created.record.prefix}/revoke`,
      undefined,
      asClient(ip, 'req-key-revoke-01'),
    );
    expect(revokeRes.status).toBe(200);
    const patchRes = await t.request('/admin/v1/models/traced-model', {
      method: 'PATCH',
      headers: asClient(ip, 'req-model-patch-1'),
      body: JSON.stringify({ cacheTtlSeconds: 30 }),
    });
    expect(patchRes.status).toBe(200);

    const expected: [string, string, string][] = [
      [`tenant:${tenant.id}`, 'tenant.created', 'req-tenant-0001'],
      [`key:${created.record.prefix}`, 'key.created', 'req-key-create-01'],
      [`key:${created.record.prefix}`, 'key.rotated', 'req-key-rotate-01'],
      [`key:${created.record.prefix}`, 'key.revoked', 'req-key-revoke-01'],
      ['model:traced-model', 'model.updated', 'req-model-patch-1'],
    ];
    for (const [target, action, requestId] of expected) {
      const rows = await rowsFor(target, action);
      expect(rows, `${action} ${target}`).toHaveLength(1);
      expect(rows[0]!.actor).toBe('operator');
      expect(rows[0]!.details['request']).toEqual({ id: requestId, ip, userAgent: 'audit-test/1.0 (+ci)' });
    }
    expect(await verifyAuditChain(t.db.primary)).toMatchObject({ ok: true });
  });

  it('under Node the client IP is the TCP peer, not a CF-Connecting-IP header anyone can send', async () => {
    const nodeEnv = { incoming: { socket: { remoteAddress: '10.20.30.40' } } };
    const res = await t.edge.app.request(
      '/admin/v1/tenants',
      { method: 'POST', headers: asClient('203.0.113.99', 'req-node-peer-01'), body: '{"name":"node-co"}' },
      nodeEnv,
    );
    expect(res.status).toBe(201);
    const tenant = await json(res);
    const [row] = await rowsFor(`tenant:${tenant.id}`, 'tenant.created');
    expect(row!.details['request']).toMatchObject({ id: 'req-node-peer-01', ip: '10.20.30.40' });
  });
});

describe('refused admin attempts are audited', () => {
  async function refusals(): Promise<AuditRecord[]> {
    await t.settle();
    return listAudit(t.db.primary, { action: 'admin.refused', limit: 1000 });
  }

  async function refusalsFrom(ip: string): Promise<AuditRecord[]> {
    return (await refusals()).filter((r) => (r.details['request'] as { ip?: string } | undefined)?.ip === ip);
  }

  it('a 401 (no token, a wrong operator token, an unknown key) is written as anonymous with the reason', async () => {
    const ip = freshIp();
    const base = { 'cf-connecting-ip': ip, 'user-agent': 'prober/2', 'content-type': 'application/json' };
    const none = await t.request('/admin/v1/tenants', {
      headers: { ...base, 'x-request-id': 'req-refused-none' },
    });
    expect(none.status).toBe(401);
    const wrong = await t.request('/admin/v1/tenants', {
      method: 'POST',
      headers: {
        ...base,
        authorization: 'Bearer not-the-operator-token',
        'x-request-id': 'req-refused-wrong',
      },
      body: '{"name":"x"}',
    });
    expect(wrong.status).toBe(401);
    const guessed = 'ais_live_zzzzzzzzzzzz_0123456789abcdefghijklmnopqrstuv';
    const unknown = await t.request('/admin/v1/tenants/acme/keys', {
      headers: { ...base, authorization: `Bearer ${guessed}`, 'x-request-id': 'req-refused-guess' },
    });
    expect(unknown.status).toBe(401);
    const rows = await refusalsFrom(ip);
    expect(rows).toHaveLength(3);
    const byRequest = new Map(rows.map((r) => [(r.details['request'] as { id: string }).id, r]));
    expect(byRequest.get('req-refused-none')).toMatchObject({
      actor: 'anonymous',
      action: 'admin.refused',
      target: 'route:GET /admin/v1/tenants',
      details: {
        status: 401,
        code: 'UNAUTHENTICATED',
        reason: expect.stringContaining('Authorization'),
        request: { id: 'req-refused-none', ip, userAgent: 'prober/2' },
      },
    });
    expect(byRequest.get('req-refused-wrong')).toMatchObject({
      actor: 'anonymous',
      target: 'route:POST /admin/v1/tenants',
      details: { status: 401, reason: 'invalid admin token', credential: 'operator-token' },
    });
    // The prefix is what the token claims: unverified, so the actor stays anonymous.
    expect(byRequest.get('req-refused-guess')).toMatchObject({
      actor: 'anonymous',
      target: 'route:GET /admin/v1/tenants/acme/keys',
      details: { status: 401, reason: 'invalid API key', credential: 'api-key', keyPrefix: 'zzzzzzzzzzzz' },
    });
    expect(await verifyAuditChain(t.db.primary)).toMatchObject({ ok: true });
  });

  it('a 403 (a key without the admin scope; an admin key on an operator route) is written with the key as actor', async () => {
    await newTenant('refused-co');
    const plain = await newKey('refused-co', { scopes: ['m'] });
    const admin = await newKey('refused-co', { scopes: ['admin'] });
    const ip = freshIp();
    const as = (key: string, id: string) => ({
      authorization: `Bearer ${key}`,
      'cf-connecting-ip': ip,
      'x-request-id': id,
      'content-type': 'application/json',
    });
    const noScope = await t.request('/admin/v1/tenants/refused-co/keys', {
      headers: as(plain.key, 'req-403-scope'),
    });
    expect(noScope.status).toBe(403);
    const notOperator = await t.request('/admin/v1/tenants', {
      method: 'POST',
      headers: as(admin.key, 'req-403-operator'),
      body: '{"name":"escalate"}',
    });
    expect(notOperator.status).toBe(403);
    const rows = await refusalsFrom(ip);
    const byRequest = new Map(rows.map((r) => [(r.details['request'] as { id: string }).id, r]));
    expect(byRequest.get('req-403-scope')).toMatchObject({
      actor: `key:${plain.record.prefix}`,
      target: 'route:GET /admin/v1/tenants/refused-co/keys',
      details: { status: 403, code: 'FORBIDDEN', reason: expect.stringContaining('"admin" scope') },
    });
    expect(byRequest.get('req-403-operator')).toMatchObject({
      actor: `key:${admin.record.prefix}`,
      target: 'route:POST /admin/v1/tenants',
      details: { status: 403, reason: expect.stringContaining('operator token') },
    });
    expect(rows).toHaveLength(2);
  });

  it('a flood of refusals from one address writes at most 5 rows a minute for it', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      const res = await t.request('/admin/v1/tenants', {
        headers: { 'cf-connecting-ip': ip, authorization: `Bearer guess-${i}` },
      });
      statuses.push(res.status);
    }
    expect(statuses.every((s) => s === 401)).toBe(true);
    const rows = await refusalsFrom(ip);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(5);
    expect(await verifyAuditChain(t.db.primary)).toMatchObject({ ok: true });
  });
});

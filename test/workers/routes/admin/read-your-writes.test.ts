import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../../../drizzle/client/client.ts';
import { migrateDatabase } from '../../../../drizzle/migrate.ts';
import { createKey, findKeyForAuth } from '../../../../drizzle/queries/keys.ts';
import { createTenant, findTenantByName } from '../../../../drizzle/queries/tenants.ts';
import { createTempDatabase, type TempDatabase } from '../../../../fixtures/temp-database.ts';
import { loadDataConfig } from '../../../../shared/config/data.ts';
import { type DbEdge, inferWith, operator, startDbEdge } from '../../db-fixture.ts';

/**
 * Read your writes through a lagging replica. The "replica" is a second database on the local PostgreSQL,
 * migrated but fed by no replication at all: it has only what the test writes into it, so it lags the primary
 * forever. The edge reads it through `DATABASE_REPLICA_URLS`, as it would a real one.
 */

const STICKY_MS = 400;

describe.each([
  ['one pool for the process (Node)', false],
  ['a connection per use (Workers)', true],
])('admin API and auth with a replica that lags, %s', (_name, perUseDatabase) => {
  let replica: TempDatabase;
  let replicaDb: DatabaseHandle;
  let t: DbEdge;
  const tag = perUseDatabase ? 'w' : 'n';

  beforeAll(async () => {
    replica = await createTempDatabase();
    replicaDb = await createDatabase(loadDataConfig({ DATABASE_URL: replica.url, DATABASE_POOL_MAX: '2' }));
    await migrateDatabase(replicaDb.primary);
    t = await startDbEdge(
      { DATABASE_REPLICA_URLS: replica.url, DATABASE_STICKY_MS: String(STICKY_MS), USAGE_BATCH_SIZE: '1' },
      { perUseDatabase },
    );
  });
  afterAll(async () => {
    await t?.close();
    await replicaDb?.close();
    await replica?.drop();
  });

  const createTenantThroughApi = async (name: string) => {
    const res = await t.request('/admin/v1/tenants', {
      method: 'POST',
      headers: operator(),
      body: JSON.stringify({ name, plan: 'pro' }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  };
  const createKeyThroughApi = async (tenant: string, body: Record<string, unknown> = {}) => {
    const res = await t.request(`/admin/v1/tenants/${tenant}/keys`, {
      method: 'POST',
      headers: operator(),
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { key: string; record: { prefix: string } }).key;
  };

  it('a key created through the admin API works for inference at once: 200, not 401', async () => {
    const name = `fresh-${tag}`;
    await createTenantThroughApi(name);
    const key = await createKeyThroughApi(name);
    // The replica really lags: it knows neither the tenant nor the key.
    const prefix = key.split('_')[2]!;
    expect(await findTenantByName(replicaDb.primary, name)).toBeNull();
    expect(await findKeyForAuth(replicaDb.primary, prefix)).toBeNull();
    const res = await t.request('/v2/models/m/infer', inferWith(key));
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it('a key created elsewhere (the CLI, on the primary) works through the edge at once', async () => {
    const tenant = await createTenant(t.db.primary, { name: `cli-${tag}`, plan: 'pro' });
    const { key } = await createKey(t.db.primary, { tenantId: tenant.id });
    const res = await t.request('/v2/models/m/infer', inferWith(key));
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it('a tenant created through the admin API is found by the next admin requests', async () => {
    const name = `found-${tag}`;
    await createTenantThroughApi(name);
    const list = await t.request('/admin/v1/tenants', { headers: operator() });
    expect(((await list.json()) as { tenants: { name: string }[] }).tenants.map((x) => x.name)).toContain(
      name,
    );
    const keys = await t.request(`/admin/v1/tenants/${name}/keys`, { headers: operator() });
    expect(keys.status, await keys.clone().text()).toBe(200);
  });

  it('another caller (the tenant’s own admin key) finds the new tenant, past the sticky window too', async () => {
    const name = `other-${tag}`;
    await createTenantThroughApi(name);
    const adminKey = await createKeyThroughApi(name, { scopes: ['admin'] });
    await new Promise((r) => setTimeout(r, STICKY_MS + 100));
    // Not this caller's write, and the operator's window has passed: the replica's "no such tenant" is
    // re-checked on the primary.
    const keys = await t.request(`/admin/v1/tenants/${name}/keys`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(keys.status, await keys.clone().text()).toBe(200);
    const viaOperator = await t.request(`/admin/v1/tenants/${name}/keys`, { headers: operator() });
    expect(viaOperator.status).toBe(200);
  });

  it('reads go to the replica again once the window has passed after the last write', async () => {
    // A tenant only the replica has: listed only when the list is read from the replica.
    const ghost = `ghost-${tag}`;
    await createTenant(replicaDb.primary, { name: ghost });
    await createTenantThroughApi(`window-${tag}`);
    const names = async () =>
      (
        (await (await t.request('/admin/v1/tenants', { headers: operator() })).json()) as {
          tenants: { name: string }[];
        }
      ).tenants.map((x) => x.name);
    expect(await names()).not.toContain(ghost);
    await new Promise((r) => setTimeout(r, STICKY_MS + 100));
    expect(await names()).toContain(ghost);
  });

  it('an unknown key is still refused with 401 (the primary confirms the miss)', async () => {
    const res = await t.request('/v2/models/m/infer', inferWith(`ais_live_abcdefghijkl_${'x'.repeat(40)}`));
    expect(res.status).toBe(401);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../../../drizzle/client/client.ts';
import { migrateDatabase } from '../../../../drizzle/migrate.ts';
import { verifyAuditChain } from '../../../../drizzle/queries/audit.ts';
import { findKeyForAuth, revokeKey } from '../../../../drizzle/queries/keys.ts';
import { listTenants } from '../../../../drizzle/queries/tenants.ts';
import { createTempDatabase, type TempDatabase } from '../../../../fixtures/temp-database.ts';
import { ensureDemoKey } from '../../../../scripts/dev/stack/demo-key.ts';
import { loadDataConfig } from '../../../../shared/config/data.ts';
import { parseApiKey } from '../../../../shared/keys/api-key.ts';

let temp: TempDatabase;
let handle: DatabaseHandle;

beforeAll(async () => {
  temp = await createTempDatabase();
  handle = await createDatabase(loadDataConfig({ DATABASE_URL: temp.url, DATABASE_DRIVER: 'pg' }));
  await migrateDatabase(handle.primary);
});

afterAll(async () => {
  await handle?.close();
  await temp?.drop();
});

describe('ensureDemoKey (npm start seeding)', () => {
  it('creates the demo tenant and a key for every model on the first run, audited', async () => {
    const first = await ensureDemoKey(handle.primary, undefined);
    expect(first.created).toBe(true);
    const parsed = parseApiKey(first.key);
    expect(parsed?.env).toBe('live');
    const record = await findKeyForAuth(handle.primary, parsed!.prefix);
    expect(record).toMatchObject({ scopes: ['*'], revokedAt: null, tenant: { name: 'demo', plan: 'pro' } });
    const verification = await verifyAuditChain(handle.primary);
    expect(verification).toMatchObject({ ok: true });
  });

  it('reuses the previous key while it is valid, and never creates a second demo tenant', async () => {
    const first = await ensureDemoKey(handle.primary, undefined);
    const again = await ensureDemoKey(handle.primary, first.key);
    expect(again).toEqual({ key: first.key, created: false });
    expect((await listTenants(handle.primary)).filter((t) => t.name === 'demo')).toHaveLength(1);
  });

  it('replaces a key that was revoked, a key with a wrong secret, and garbage', async () => {
    const first = await ensureDemoKey(handle.primary, undefined);
    const prefix = parseApiKey(first.key)!.prefix;
    const forged = `${first.key.slice(0, -4)}AAAA`;
    const wrongSecret = await ensureDemoKey(handle.primary, forged);
    expect(wrongSecret.created).toBe(true);
    expect(wrongSecret.key).not.toBe(first.key);

    await revokeKey(handle.primary, prefix);
    const afterRevoke = await ensureDemoKey(handle.primary, first.key);
    expect(afterRevoke.created).toBe(true);
    expect(afterRevoke.key).not.toBe(first.key);

    expect((await ensureDemoKey(handle.primary, 'not-a-key')).created).toBe(true);
  });
});

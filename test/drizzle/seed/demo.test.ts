import { describe, expect, it } from 'vitest';
import type { Database } from '../../../drizzle/client/types.ts';
import { verifyAuditChain } from '../../../drizzle/queries/audit.ts';
import { findKeyForAuth, listKeys } from '../../../drizzle/queries/keys.ts';
import { listTenants } from '../../../drizzle/queries/tenants.ts';
import { seedDemo } from '../../../drizzle/seed/demo.ts';
import { hashKeySecret, parseApiKey } from '../../../shared/keys/api-key.ts';
import { type Backend, withMigratedDatabase } from '../../support/test-database.ts';

describe.each<Backend>(['pglite', 'postgres'])('demo seed on %s', { timeout: 120_000 }, (backend) => {
  let db: Database;
  withMigratedDatabase(backend, (opened) => {
    db = opened;
  });

  it('creates the demo tenant and returns a working key on the first run only', async () => {
    const first = await seedDemo(db);
    expect(first.tenantCreated).toBe(true);
    expect(first.tenant).toMatchObject({ name: 'demo', plan: 'free' });
    const parsed = parseApiKey(first.apiKey!)!;
    const auth = await findKeyForAuth(db, parsed.prefix);
    expect(auth!.secretHash).toBe(await hashKeySecret(parsed.secret));

    const second = await seedDemo(db);
    expect(second.tenantCreated).toBe(false);
    expect(second.apiKey).toBeNull();
    expect(second.keyPrefix).toBe(parsed.prefix);
    expect((await listTenants(db)).filter((t) => t.name === 'demo')).toHaveLength(1);
    expect(await listKeys(db, first.tenant.id)).toHaveLength(1);
  });

  it('issues a fresh key when asked, keeping the tenant, and audits it', async () => {
    const again = await seedDemo(db, { issueNewKey: true });
    expect(again.apiKey).not.toBeNull();
    expect(await listKeys(db, again.tenant.id)).toHaveLength(2);
    expect(await verifyAuditChain(db)).toEqual({ ok: true, rows: 2 });
  });
});

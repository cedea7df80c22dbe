import type { Database } from '../client/types.ts';
import { appendAudit } from '../queries/audit.ts';
import { createKey, listKeys } from '../queries/keys.ts';
import { ensureTenant } from '../queries/tenants.ts';
import type { Tenant } from '../schema/tenants.ts';

const DEMO_TENANT = 'demo';
const DEMO_KEY_NAME = 'demo';

export interface DemoSeed {
  tenant: Tenant;
  /** The full demo key when one was issued by this call, else null (only its hash is in the database). */
  apiKey: string | null;
  /** Prefix of the active demo key (new or existing). */
  keyPrefix: string;
  tenantCreated: boolean;
}

/**
 * Idempotent demo data for `npm start`: the tenant `demo` (plan free) and one active key named `demo`. The
 * key is returned only when this call issues it; the caller decides where to keep it (the local stack
 * writes it to the git-ignored .aiserve/local.json). Pass `issueNewKey` when the caller lost the key: a
 * fresh one is issued and earlier demo keys stay valid until revoked.
 */
export async function seedDemo(
  db: Database,
  options: { issueNewKey?: boolean; actor?: string } = {},
): Promise<DemoSeed> {
  return db.transaction(async (t) => {
    const tx = t as unknown as Database;
    const { tenant, created } = await ensureTenant(tx, { name: DEMO_TENANT, plan: 'free' });
    if (!options.issueNewKey) {
      const existing = (await listKeys(tx, tenant.id)).find(
        (k) => k.name === DEMO_KEY_NAME && (!k.expiresAt || Date.parse(k.expiresAt) > Date.now()),
      );
      if (existing) return { tenant, apiKey: null, keyPrefix: existing.prefix, tenantCreated: created };
    }
    const key = await createKey(tx, { tenantId: tenant.id, name: DEMO_KEY_NAME, scopes: ['*'], env: 'test' });
    await appendAudit(tx, {
      actor: options.actor ?? 'seed:demo',
      action: 'key.created',
      target: `key:${key.record.prefix}`,
      details: { tenant: tenant.name, keyId: key.record.id, scopes: key.record.scopes, expiresAt: null },
    });
    return { tenant, apiKey: key.key, keyPrefix: key.record.prefix, tenantCreated: created };
  });
}

import type { Database } from '../../../drizzle/client/types.ts';
import { createKeyAudited, findKeyForAuth } from '../../../drizzle/queries/keys.ts';
import { ensureTenant } from '../../../drizzle/queries/tenants.ts';
import { hashKeySecret, parseApiKey, timingSafeEqualHex } from '../../../shared/keys/api-key.ts';

const DEMO_TENANT = 'demo';

/** True when `key` is still a usable key in this database (it survives restarts but not a wiped database). */
async function stillValid(db: Database, key: string, now: number): Promise<boolean> {
  const parsed = parseApiKey(key);
  if (!parsed) return false;
  const record = await findKeyForAuth(db, parsed.prefix);
  if (!record || record.revokedAt || record.tenant.disabled) return false;
  if (record.expiresAt && Date.parse(record.expiresAt) <= now) return false;
  return timingSafeEqualHex(hashKeySecret(parsed.secret), record.secretHash);
}

/**
 * The demo tenant's key for the printed curl: the previous run's key when it still works, else a new key for
 * the `demo` tenant (plan `pro`, every model), recorded in the audit log like any other key creation.
 */
export async function ensureDemoKey(
  db: Database,
  previousKey: string | undefined,
  now = Date.now(),
): Promise<{ key: string; created: boolean }> {
  if (previousKey && (await stillValid(db, previousKey, now))) return { key: previousKey, created: false };
  const { tenant } = await ensureTenant(db, { name: DEMO_TENANT, plan: 'pro' });
  const created = await createKeyAudited(
    db,
    { tenantId: tenant.id, name: 'demo key (npm start)', scopes: ['*'] },
    { actor: 'npm-start' },
  );
  return { key: created.key, created: true };
}

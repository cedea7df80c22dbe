import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  type DatabaseHandle,
  type SlowQueryEntry,
} from '../../../../drizzle/client/client.ts';
import { migrateDatabase } from '../../../../drizzle/migrate.ts';
import { createKey } from '../../../../drizzle/queries/keys.ts';
import { createTenant } from '../../../../drizzle/queries/tenants.ts';
import { apiKeys, tenants } from '../../../../drizzle/schema/index.ts';
import { createTempDatabase, type TempDatabase } from '../../../../fixtures/temp-database.ts';
import { loadDataConfig } from '../../../../shared/config/data.ts';
import type { DatabaseSource } from '../../../../workers/stores/database/database-source.ts';
import { createPostgresDataAccess } from '../../../../workers/stores/database/postgres-data.ts';

/**
 * The key lookup against a replica that lags: a second database on the local PostgreSQL that receives only what
 * the test copies into it. Every statement is logged with the connection that ran it (`primary`, `replica-0`),
 * so the tests count the primary's reads.
 */

let primary: TempDatabase;
let replica: TempDatabase;
let handle: DatabaseHandle;
let primaryOnly: DatabaseHandle;
const statements: SlowQueryEntry[] = [];

const sourceOf = (h: DatabaseHandle): DatabaseSource => ({
  use: (fn) => fn(h),
  sticky: h.sticky,
  close: async () => {},
});

const primaryReads = () =>
  statements.filter((s) => s.target === 'primary' && s.sql.includes('api_keys')).length;

beforeAll(async () => {
  primary = await createTempDatabase();
  replica = await createTempDatabase();
  const env = { DATABASE_POOL_MAX: '2', DATABASE_SLOW_QUERY_MS: '0' };
  handle = await createDatabase(
    loadDataConfig({ DATABASE_URL: primary.url, DATABASE_REPLICA_URLS: replica.url, ...env }),
    { onSlowQuery: (e) => statements.push(e) },
  );
  primaryOnly = await createDatabase(loadDataConfig({ DATABASE_URL: primary.url, ...env }), {
    onSlowQuery: (e) => statements.push(e),
  });
  await migrateDatabase(handle.primary);
  await migrateDatabase(handle.replicas[0]!);
});

afterAll(async () => {
  await handle?.close();
  await primaryOnly?.close();
  await primary?.drop();
  await replica?.drop();
});

/** A key on the primary that the replica has not replayed yet; `catchUp` copies it there. */
async function freshKey(name: string) {
  const tenant = await createTenant(handle.primary, { name });
  const created = await createKey(handle.primary, { tenantId: tenant.id });
  return {
    prefix: created.record.prefix,
    async catchUp() {
      const replicaDb = handle.replicas[0]!;
      await replicaDb.insert(tenants).values(tenant);
      const [row] = await handle.primary.select().from(apiKeys).where(eqPrefix(created.record.prefix));
      await replicaDb.insert(apiKeys).values(row!);
    },
  };
}

const eqPrefix = (prefix: string) => eq(apiKeys.prefix, prefix);

describe('key lookup with a lagging replica', () => {
  it('finds a key the replica has not seen yet on the primary, and reads a caught-up replica alone', async () => {
    const data = createPostgresDataAccess(sourceOf(handle));
    const key = await freshKey('lag-co');
    const before = primaryReads();
    expect((await data.findKeyForAuth(key.prefix))?.prefix).toBe(key.prefix);
    expect(primaryReads() - before).toBe(1);
    await key.catchUp();
    const after = primaryReads();
    expect((await data.findKeyForAuth(key.prefix))?.prefix).toBe(key.prefix);
    expect(primaryReads() - after).toBe(0);
  });

  it('re-checks unknown prefixes on the primary at most as often as its budget allows', async () => {
    let now = 1_000_000;
    const data = createPostgresDataAccess(sourceOf(handle), {
      primaryRechecks: { perMinute: 60, burst: 3 },
      now: () => now,
    });
    const before = primaryReads();
    const unknown = (i: number) => `zzzzzzzzzz${String(i).padStart(2, '0')}`;
    for (let i = 0; i < 10; i++) expect(await data.findKeyForAuth(unknown(i))).toBeNull();
    expect(primaryReads() - before).toBe(3);
    // The budget refills at its rate (one a second here): the next miss is re-checked again.
    now += 1_000;
    expect(await data.findKeyForAuth(unknown(10))).toBeNull();
    expect(primaryReads() - before).toBe(4);
  });

  it('asks the primary once when there is no replica (its miss is the answer)', async () => {
    const data = createPostgresDataAccess(sourceOf(primaryOnly));
    const before = primaryReads();
    expect(await data.findKeyForAuth('yyyyyyyyyyyy')).toBeNull();
    expect(primaryReads() - before).toBe(1);
  });
});

import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createDatabase,
  type DatabaseHandle,
  type SlowQueryEntry,
} from '../../../../drizzle/client/client.ts';
import { migrateDatabase } from '../../../../drizzle/migrate.ts';
import { insertUsageEvents } from '../../../../drizzle/pipeline/insert-usage.ts';
import { createKey, findKeyForAuth, revokeKey } from '../../../../drizzle/queries/keys.ts';
import { createTenant } from '../../../../drizzle/queries/tenants.ts';
import { tenants } from '../../../../drizzle/schema/tenants.ts';
import { type NeonWsProxy, startNeonWsProxy } from '../../../../scripts/dev/neon-ws-proxy.ts';
import { loadDataConfig } from '../../../../shared/config/data.ts';
import { createEmptyPgDatabase, PG_ADMIN_URL } from '../../../support/test-database.ts';
import { usageEvent } from '../../../support/usage-fixtures.ts';

describe('Neon driver through the local WebSocket proxy (Node, real PostgreSQL behind it)', () => {
  let empty: Awaited<ReturnType<typeof createEmptyPgDatabase>>;
  let proxy: NeonWsProxy;
  let handle: DatabaseHandle;
  const slow: SlowQueryEntry[] = [];
  beforeAll(async () => {
    empty = await createEmptyPgDatabase();
    const target = new URL(PG_ADMIN_URL);
    proxy = await startNeonWsProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
    handle = await createDatabase(
      loadDataConfig({
        DATABASE_URL: empty.url,
        DATABASE_DRIVER: 'neon',
        NEON_WS_PROXY: proxy.address,
        DATABASE_SLOW_QUERY_MS: '0',
      }),
      { webSocket: WebSocket, onSlowQuery: (e) => slow.push(e) },
    );
  });
  afterAll(async () => {
    await handle?.close();
    await proxy?.close();
    await empty?.drop();
  });

  it('migrates and runs the key lifecycle over WebSockets', async () => {
    expect(handle.driver).toBe('neon');
    await migrateDatabase(handle.primary);
    const tenant = await createTenant(handle.db, { name: 'neon-co' });
    const created = await createKey(handle.db, { tenantId: tenant.id });
    expect((await findKeyForAuth(handle.db, created.record.prefix))!.tenant.name).toBe('neon-co');
    await revokeKey(handle.db, created.record.id);
    expect((await findKeyForAuth(handle.db, created.record.prefix))!.revokedAt).not.toBeNull();
    expect(await handle.db.select().from(tenants).where(eq(tenants.name, 'neon-co'))).toHaveLength(1);
    // The traffic really went through the proxy, and the slow-query hook saw it.
    expect(proxy.connections()).toBeGreaterThan(0);
    expect(slow.some((e) => e.sql.includes('from "api_keys"'))).toBe(true);
  });

  it('writes usage events (array parameters through unnest) idempotently', async () => {
    const tenantId = crypto.randomUUID();
    const events = [
      usageEvent({ tenantId, model: 'quote " and {brace}', originId: null, keyId: crypto.randomUUID() }),
      usageEvent({ tenantId, model: null, version: null }),
    ];
    expect(await insertUsageEvents(handle.primary, events)).toBe(2);
    expect(await insertUsageEvents(handle.primary, events)).toBe(0);
  });
});

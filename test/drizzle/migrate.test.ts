import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../drizzle/client/types.ts';
import { migrateDatabase } from '../../drizzle/migrate.ts';
import { type Backend, withMigratedDatabase } from '../support/test-database.ts';

async function rows<T>(db: Database, query: ReturnType<typeof sql>): Promise<T[]> {
  const r = (await db.execute(query)) as unknown as { rows: T[] };
  return r.rows;
}

function monthName(offset: number): string {
  const d = new Date();
  const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1));
  return `${m.getUTCFullYear()}${String(m.getUTCMonth() + 1).padStart(2, '0')}`;
}

describe.each<Backend>(['postgres', 'pglite'])('migrations on %s', { timeout: 120_000 }, (backend) => {
  let db: Database;
  withMigratedDatabase(backend, (opened) => {
    db = opened;
  });

  it('create every table from an empty database', async () => {
    const tables = await rows<{ relname: string }>(
      db,
      sql`select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relispartition = false order by 1`,
    );
    expect(tables.map((t) => t.relname)).toEqual([
      'api_keys',
      'audit_log',
      'gpu_instances',
      'models',
      'origins',
      'tenants',
      'usage_events',
      'usage_rollup_totals',
      'usage_rollups',
    ]);
  });

  it('partition usage_events, audit_log and usage_rollups by month, with this month, the next two and a default', async () => {
    const parts = await rows<{ parent: string; child: string }>(
      db,
      sql`select p.relname as parent, c.relname as child from pg_inherits i
          join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
          where p.relname in ('usage_events', 'audit_log', 'usage_rollups') and c.relkind = 'r' order by 1, 2`,
    );
    for (const table of ['audit_log', 'usage_events', 'usage_rollups']) {
      expect(parts.filter((p) => p.parent === table).map((p) => p.child)).toEqual(
        [`${table}_default`, ...[0, 1, 2].map((i) => `${table}_p${monthName(i)}`)].sort(),
      );
    }
  });

  it('create the named hot-query indexes', async () => {
    const idx = await rows<{ indexname: string }>(
      db,
      sql`select indexname from pg_indexes where schemaname = 'public' and tablename in
          ('api_keys', 'tenants', 'gpu_instances', 'origins', 'usage_events', 'audit_log')`,
    );
    const names = idx.map((i) => i.indexname);
    for (const name of [
      'api_keys_prefix_key',
      'api_keys_tenant_active_idx',
      'tenants_name_key',
      'gpu_instances_live_idx',
      'gpu_instances_client_token_key',
      'gpu_instances_provider_id_idx',
      'origins_region_last_seen_idx',
      'usage_events_pkey',
      'usage_events_tenant_ts_idx',
      'usage_events_key_ts_idx',
      'audit_log_pkey',
      'audit_log_target_ts_idx',
    ]) {
      expect(names).toContain(name);
    }
    const [cover] = await rows<{ indexdef: string }>(
      db,
      sql`select indexdef from pg_indexes where indexname = 'usage_events_tenant_ts_idx'`,
    );
    expect(cover!.indexdef).toMatch(/INCLUDE \(model, status, latency_ms, cache, items\)/);
  });

  it('route a usage event far outside the monthly ranges to the default partition instead of failing', async () => {
    const id = randomUUID();
    await db.execute(sql`insert into usage_events (event_id, ts, tenant_id, route, status, latency_ms, cache, request_id)
      values (${id}, '1999-01-01T00:00:00Z', ${randomUUID()}, '/v2/models/m/infer', 200, 5, 'MISS', 'r1')`);
    const [row] = await rows<{ part: string }>(
      db,
      sql`select tableoid::regclass::text as part from usage_events where event_id = ${id}`,
    );
    expect(row!.part).toBe('usage_events_default');
  });

  it('route a usage event of this month to its monthly partition', async () => {
    const id = randomUUID();
    await db.execute(sql`insert into usage_events (event_id, ts, tenant_id, route, status, latency_ms, cache, request_id)
      values (${id}, now(), ${randomUUID()}, '/v2/models/m/infer', 200, 5, 'HIT-EDGE', 'r2')`);
    const [row] = await rows<{ part: string }>(
      db,
      sql`select tableoid::regclass::text as part from usage_events where event_id = ${id}`,
    );
    expect(row!.part).toBe(`usage_events_p${monthName(0)}`);
  });

  it('are a no-op when run again', async () => {
    const before = await rows<{ n: number }>(
      db,
      sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
    );
    await migrateDatabase(db);
    const after = await rows<{ n: number }>(
      db,
      sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
    );
    expect(after[0]!.n).toBe(before[0]!.n);
    expect(before[0]!.n).toBeGreaterThanOrEqual(2);
  });
});

import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle, type SlowQueryEntry } from '../../../drizzle/client/client.ts';
import { migrateDatabase } from '../../../drizzle/migrate.ts';
import { tenants } from '../../../drizzle/schema/tenants.ts';
import { loadDataConfig } from '../../../shared/config/data.ts';
import { createEmptyPgDatabase, openMigrated } from '../../support/test-database.ts';

describe('read replicas and the sticky rule (two real PostgreSQL databases)', () => {
  let primaryDb: Awaited<ReturnType<typeof createEmptyPgDatabase>>;
  let replicaDb: Awaited<ReturnType<typeof createEmptyPgDatabase>>;
  let handle: DatabaseHandle;
  let clock = 1_000_000;
  beforeAll(async () => {
    primaryDb = await createEmptyPgDatabase();
    replicaDb = await createEmptyPgDatabase();
    handle = await createDatabase(
      loadDataConfig({
        DATABASE_URL: primaryDb.url,
        DATABASE_REPLICA_URLS: replicaDb.url,
        DATABASE_STICKY_MS: '5000',
        DATABASE_POOL_MAX: '2',
      }),
      { now: () => clock },
    );
    // The "replica" is a separate database that never receives the primary's writes, so which one answered
    // a read is visible: a row written through the primary exists only there.
    await migrateDatabase(handle.primary);
    await migrateDatabase(handle.replicas[0]!);
  });
  afterAll(async () => {
    await handle?.close();
    await primaryDb?.drop();
    await replicaDb?.drop();
  });

  const findIn = (db: DatabaseHandle['db'], name: string) =>
    db.select({ id: tenants.id }).from(tenants).where(eq(tenants.name, name));

  it('sends plain reads to the replica and writes to the primary', async () => {
    await handle.db.insert(tenants).values({ name: 'plain-write' });
    expect(await findIn(handle.primary, 'plain-write')).toHaveLength(1);
    expect(await findIn(handle.db, 'plain-write')).toHaveLength(0);
  });

  it('reads a session’s own write from the primary within the window, and from the replica after it', async () => {
    const session = handle.session('tenant-a');
    await session.insert(tenants).values({ name: 'sticky-write' });
    expect(await findIn(session, 'sticky-write')).toHaveLength(1);
    // Relational queries and $count follow the same rule.
    expect(await session.$count(tenants, eq(tenants.name, 'sticky-write'))).toBe(1);
    clock += 4_999;
    expect(await findIn(session, 'sticky-write')).toHaveLength(1);
    clock += 2;
    expect(await findIn(session, 'sticky-write')).toHaveLength(0);
  });

  it('does not make other sessions sticky', async () => {
    const writer = handle.session('tenant-b');
    const other = handle.session('tenant-c');
    await writer.insert(tenants).values({ name: 'b-write' });
    expect(await findIn(writer, 'b-write')).toHaveLength(1);
    expect(await findIn(other, 'b-write')).toHaveLength(0);
  });

  it('counts updates, deletes and transactions as writes', async () => {
    await handle.primary.insert(tenants).values({ name: 'to-update' });
    const s1 = handle.session('u');
    await s1.update(tenants).set({ plan: 'pro' }).where(eq(tenants.name, 'to-update'));
    expect(await findIn(s1, 'to-update')).toHaveLength(1);
    const s2 = handle.session('t');
    await s2.transaction(async (tx) => {
      await tx.insert(tenants).values({ name: 'in-tx' });
    });
    expect(await findIn(s2, 'in-tx')).toHaveLength(1);
  });
});

// PGlite (WASM) starts and migrates slowly on a loaded machine: generous bounds, no timing assertions.
describe('slow-query log', { timeout: 120_000 }, () => {
  it.each(['postgres', 'pglite'] as const)(
    'logs duration and SQL but never parameter values (%s)',
    async (backend) => {
      const entries: SlowQueryEntry[] = [];
      const empty = backend === 'postgres' ? await createEmptyPgDatabase() : null;
      const handle = await createDatabase(
        loadDataConfig({ DATABASE_URL: empty?.url ?? 'memory://', DATABASE_SLOW_QUERY_MS: '0' }),
        { onSlowQuery: (e) => entries.push(e) },
      );
      try {
        await migrateDatabase(handle.primary);
        await handle.db.select().from(tenants).where(eq(tenants.name, 'secret-value-xyz'));
        await handle.db.transaction(async (tx) => {
          await tx.execute(sql`select ${'another-secret-abc'}::text as x`);
        });
        const select = entries.find((e) => e.sql.includes('from "tenants"'));
        expect(select).toBeDefined();
        expect(select!.sql).toContain('$1');
        expect(select!.durationMs).toBeGreaterThanOrEqual(0);
        expect(select!.target).toBe('primary');
        // Statements inside a transaction run on a dedicated connection and are timed too.
        expect(entries.some((e) => e.sql.includes('::text as x'))).toBe(true);
        const all = JSON.stringify(entries);
        expect(all).not.toContain('secret-value-xyz');
        expect(all).not.toContain('another-secret-abc');
      } finally {
        await handle.close();
        await empty?.drop();
      }
    },
  );

  it('stays quiet for queries under the threshold and reports one that exceeds it', async () => {
    const entries: SlowQueryEntry[] = [];
    const env = await openMigrated('postgres');
    const handle = await createDatabase(
      loadDataConfig({ DATABASE_URL: env.url, DATABASE_SLOW_QUERY_MS: '100' }),
      {
        onSlowQuery: (e) => entries.push(e),
      },
    );
    try {
      await handle.db.execute(sql`select 1`);
      expect(entries.filter((e) => e.sql === 'select 1')).toEqual([]);
      await handle.db.execute(sql`select pg_sleep(0.3)`);
      const slow = entries.find((e) => e.sql.includes('pg_sleep'));
      expect(slow!.durationMs).toBeGreaterThanOrEqual(100);
    } finally {
      await handle.close();
      await env.dispose();
    }
  });
});

describe('statement timeout', () => {
  it('cancels a statement that runs longer than DATABASE_STATEMENT_TIMEOUT_MS (PostgreSQL 57014)', async () => {
    const env = await openMigrated('postgres');
    const handle = await createDatabase(
      loadDataConfig({ DATABASE_URL: env.url, DATABASE_STATEMENT_TIMEOUT_MS: '200' }),
    );
    try {
      const err = await handle.db.execute(sql`select pg_sleep(10)`).then(
        () => null,
        (e: unknown) => e,
      );
      const code =
        (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
      expect(code).toBe('57014');
    } finally {
      await handle.close();
      await env.dispose();
    }
  });
});

describe('data config', () => {
  it('defaults to embedded PGlite in .data/pglite', () => {
    const c = loadDataConfig({});
    expect(c.DATABASE_URL).toBe('pglite://.data/pglite');
    expect(c.DATABASE_DRIVER).toBe('pglite');
    expect(c.DATABASE_STICKY_MS).toBe(5000);
  });

  it('derives the driver from the URL and splits replica URLs', () => {
    const c = loadDataConfig({
      DATABASE_URL: 'postgres://u@127.0.0.1/db',
      DATABASE_REPLICA_URLS: 'postgres://u@127.0.0.1/r1, postgres://u@127.0.0.1/r2',
    });
    expect(c.DATABASE_DRIVER).toBe('pg');
    expect(c.DATABASE_REPLICA_URLS).toEqual(['postgres://u@127.0.0.1/r1', 'postgres://u@127.0.0.1/r2']);
  });

  it('names every bad variable at once', () => {
    expect(() =>
      loadDataConfig({
        DATABASE_URL: 'mysql://x',
        DATABASE_POOL_MAX: '0',
        DATABASE_DRIVER: 'sqlite',
        NEON_WS_PROXY: 'http://x',
      }),
    ).toThrow(/DATABASE_URL[\s\S]*DATABASE_DRIVER[\s\S]*DATABASE_POOL_MAX[\s\S]*NEON_WS_PROXY/);
  });

  it('refuses a server driver with an embedded URL and replicas for PGlite', () => {
    expect(() => loadDataConfig({ DATABASE_URL: 'memory://', DATABASE_DRIVER: 'neon' })).toThrow(
      /DATABASE_DRIVER/,
    );
    expect(() =>
      loadDataConfig({ DATABASE_URL: 'pglite://x', DATABASE_REPLICA_URLS: 'postgres://h/db' }),
    ).toThrow(/DATABASE_REPLICA_URLS/);
  });
});

import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../drizzle/client/client.ts';
import type { Database } from '../../drizzle/client/types.ts';
import { migrateDatabase } from '../../drizzle/migrate.ts';
import {
  adminQuery,
  createTempDatabase,
  type TempDatabase,
  urlOfDatabase,
} from '../../fixtures/temp-database.ts';
import { loadDataConfig } from '../../shared/config/data.ts';

/**
 * A database of one test file's own: on the local PostgreSQL 15 (a fresh database per file, so parallel files never
 * share tables) or in-memory PGlite. Two ways in: through the real client factory (`openMigrated`,
 * `withMigratedDatabase`), or a bare node-postgres pool for the pipeline tests that inspect SQL results directly
 * (`createTestDatabase`).
 */

/** The CI/local PostgreSQL 15; tests never reach anything but 127.0.0.1. */
export const PG_ADMIN_URL = process.env['TEST_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_TEST_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle/migrations', import.meta.url));

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

export function databaseUrl(name: string): string {
  return urlOfDatabase(name, PG_ADMIN_URL);
}

export async function createEmptyDatabase(name: string): Promise<void> {
  await adminQuery(`CREATE DATABASE "${name}"`, { adminUrl: PG_ADMIN_URL });
}

export async function dropDatabase(name: string): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`, { adminUrl: PG_ADMIN_URL });
}

export async function migrateUrl(url: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await migrate(drizzle(pool), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await pool.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  db: NodePgDatabase;
  close(): Promise<void>;
}

/** A fresh, migrated database of its own for one test file; `close()` drops it. */
export async function createTestDatabase(prefix = 'aiserve_t'): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  await createEmptyDatabase(name);
  const url = databaseUrl(name);
  await migrateUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  return {
    name,
    url,
    pool,
    db: drizzle(pool),
    async close() {
      await pool.end();
      await dropDatabase(name);
    },
  };
}

/** An empty database of this test file's own on the real PostgreSQL; `drop()` removes it. */
export function createEmptyPgDatabase(): Promise<TempDatabase> {
  return createTempDatabase({ adminUrl: PG_ADMIN_URL });
}

export type Backend = 'postgres' | 'pglite';

/** A migrated database through the real client factory, on PostgreSQL 15 or in-memory PGlite. */
export async function openMigrated(
  backend: Backend,
  env: Record<string, string> = {},
): Promise<{ handle: DatabaseHandle; url: string; dispose(): Promise<void> }> {
  if (backend === 'pglite') {
    const handle = await createDatabase(loadDataConfig({ DATABASE_URL: 'memory://', ...env }));
    await migrateDatabase(handle.primary);
    return { handle, url: 'memory://', dispose: () => handle.close() };
  }
  const empty = await createEmptyPgDatabase();
  const handle = await createDatabase(
    loadDataConfig({ DATABASE_URL: empty.url, DATABASE_POOL_MAX: '4', ...env }),
  );
  await migrateDatabase(handle.primary);
  return {
    handle,
    url: empty.url,
    async dispose() {
      await handle.close();
      await empty.drop();
    },
  };
}

/**
 * One migrated database for the enclosing `describe` (or file): opened in `beforeAll`, disposed in `afterAll`.
 * `ready` receives the primary handle once it is open (and may seed it).
 */
export function withMigratedDatabase(backend: Backend, ready: (db: Database) => void | Promise<void>): void {
  let opened: Awaited<ReturnType<typeof openMigrated>> | undefined;
  beforeAll(async () => {
    opened = await openMigrated(backend);
    await ready(opened.handle.primary);
  }, 180_000);
  afterAll(() => opened?.dispose());
}

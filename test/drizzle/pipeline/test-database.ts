import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { adminQuery, urlOfDatabase } from '../../support/temp-database.ts';

/** The CI/local PostgreSQL 15; tests never reach anything but 127.0.0.1. */
export const PG_ADMIN_URL = process.env['TEST_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_TEST_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../drizzle/migrations', import.meta.url));

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

import { afterAll, beforeAll } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../../drizzle/client/client.ts';
import type { Database } from '../../../drizzle/client/types.ts';
import { migrateDatabase } from '../../../drizzle/migrate.ts';
import { loadDataConfig } from '../../../shared/config/data.ts';
import { createTempDatabase, type TempDatabase, urlOfDatabase } from '../../support/temp-database.ts';

/** The CI/local PostgreSQL 15; tests never reach anything but 127.0.0.1. */
export const PG_ADMIN_URL = process.env['TEST_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export function databaseUrl(name: string): string {
  return urlOfDatabase(name, PG_ADMIN_URL);
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

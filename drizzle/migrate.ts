import { fileURLToPath } from 'node:url';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { PgDialect, PgSession } from 'drizzle-orm/pg-core';
import type { Database } from './client/types.ts';

const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

/**
 * Applies every pending migration in drizzle/migrations, in order, inside one transaction, recording them in
 * `drizzle.__drizzle_migrations`, so running it again is a no-op. Run one migrator at a time (drizzle takes no
 * lock). Works for every driver: this is what each of drizzle's per-driver `migrate` functions does.
 * Pass the primary (a `withReplicas` database is unwrapped to its primary).
 */
export async function migrateDatabase(db: Database): Promise<void> {
  const target = ('$primary' in db ? (db as { $primary: Database }).$primary : db) as unknown as {
    dialect: PgDialect;
    session: PgSession;
  };
  const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
  await target.dialect.migrate(migrations, target.session, { migrationsFolder: MIGRATIONS_FOLDER });
}

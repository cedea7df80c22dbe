import { randomBytes } from 'node:crypto';
import pg from 'pg';

const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TempDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh database `<prefix><random>` on the local PostgreSQL, so parallel test files never share tables (the
 * edge benchmark uses it too, with its own admin URL and prefix).
 */
export async function createTempDatabase(
  options: { adminUrl?: string; prefix?: string; connectTimeoutMs?: number } = {},
): Promise<TempDatabase> {
  const adminUrl = options.adminUrl ?? ADMIN_URL;
  const name = `${options.prefix ?? 'aiserve_t_'}${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({
    connectionString: adminUrl,
    connectionTimeoutMillis: options.connectTimeoutMs,
  });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

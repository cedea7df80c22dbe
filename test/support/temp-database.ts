import { randomBytes } from 'node:crypto';
import pg from 'pg';

const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TempDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** One statement on the admin connection (CREATE / DROP DATABASE), then disconnect. */
export async function adminQuery(
  sql: string,
  options: { adminUrl?: string; connectTimeoutMs?: number } = {},
): Promise<void> {
  const client = new pg.Client({
    connectionString: options.adminUrl ?? ADMIN_URL,
    connectionTimeoutMillis: options.connectTimeoutMs,
  });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The URL of database `name` on the server of `adminUrl`. */
export function urlOfDatabase(name: string, adminUrl = ADMIN_URL): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
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
  await adminQuery(`CREATE DATABASE "${name}"`, options);
  return {
    name,
    url: urlOfDatabase(name, adminUrl),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`, { adminUrl }),
  };
}

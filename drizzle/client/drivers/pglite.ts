import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import type { DataConfig } from '../../../shared/config/data.ts';
import * as schema from '../../schema/index.ts';
import { timeQueries } from '../slow-query.ts';
import type { Database, DriverConnection, SlowQueryLog } from '../types.ts';

/** `pglite://<dir>` → the directory; `memory://` → undefined (in-memory, gone on close). */
function pgliteDataDir(url: string): string | undefined {
  if (url === 'memory://') return undefined;
  const dir = url.slice('pglite://'.length);
  return dir || '.data/pglite';
}

/**
 * Embedded PGlite (WASM Postgres in this process): the zero-install default. One process owns a data
 * directory at a time; other processes reach it through the PGlite socket server the local stack starts.
 */
export async function connectPglite(
  url: string,
  config: DataConfig,
  log: SlowQueryLog,
): Promise<DriverConnection & { client: PGlite }> {
  const dir = pgliteDataDir(url);
  if (dir) mkdirSync(dir, { recursive: true });
  const client = dir ? new PGlite(dir) : new PGlite();
  await client.waitReady;
  if (config.DATABASE_STATEMENT_TIMEOUT_MS > 0) {
    await client.exec(`SET statement_timeout = ${config.DATABASE_STATEMENT_TIMEOUT_MS}`);
  }
  const timing = { thresholdMs: config.DATABASE_SLOW_QUERY_MS, label: 'primary', log };
  timeQueries(client, 'query', timing);
  timeQueries(client, 'exec', timing);
  // Transactions get their own query object per call; time those too.
  const transaction = client.transaction.bind(client);
  (client as { transaction: PGlite['transaction'] }).transaction = (fn) =>
    transaction((tx) => {
      timeQueries(tx, 'query', timing);
      return fn(tx);
    });
  const db = drizzle({ client, schema }) as unknown as Database;
  return { db, client, close: () => client.close() };
}

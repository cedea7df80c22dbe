import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { DataConfig } from '../../../shared/config/data.ts';
import * as schema from '../../schema/index.ts';
import { timeQueries } from '../slow-query.ts';
import type { Database, DriverConnection, SlowQueryLog } from '../types.ts';
import { poolOptions } from './pool-options.ts';

/** node-postgres pool (Node: origin, CLI, jobs). */
export function connectPg(
  url: string,
  config: DataConfig,
  label: string,
  log: SlowQueryLog,
): DriverConnection & { pool: pg.Pool } {
  const pool = new pg.Pool(poolOptions(url, config));
  // Idle clients that lose their server (restart, failover) emit 'error' on the pool; without a listener
  // that would crash the process. The next query gets a fresh connection and reports its own error.
  pool.on('error', () => {});
  // Every physical connection is timed, whether used by pool.query or inside a transaction.
  pool.on('connect', (client) => {
    timeQueries(client, 'query', { thresholdMs: config.DATABASE_SLOW_QUERY_MS, label, log });
    // A checked-out client (inside a transaction, between statements) that loses its server emits 'error' on
    // itself, not the pool: unheard, that crashed the process. The statement in flight still rejects.
    client.on('error', () => {});
  });
  const db = drizzle({ client: pool, schema }) as unknown as Database;
  return { db, pool, close: () => pool.end() };
}

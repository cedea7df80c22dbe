import { neonConfig, Pool } from '@neondatabase/serverless';
import { drizzle } from 'drizzle-orm/neon-serverless';
import type { DataConfig } from '../../../shared/config/data.ts';
import * as schema from '../../schema/index.ts';
import { timeQueries } from '../slow-query.ts';
import type { Database, DriverConnection, SlowQueryLog } from '../types.ts';
import { poolOptions } from './pool-options.ts';

/**
 * Points the Neon driver at a local WebSocket-to-TCP proxy (the local stack's stand-in for Neon's own
 * proxy), in the URL shape of Neon's local proxy: `ws://<proxy>/v1?address=<host>:<port>`. Global because
 * neonConfig is.
 */
function configureNeonProxy(proxy: string): void {
  neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
}

/**
 * @neondatabase/serverless Pool over WebSockets: the edge's driver (works in workerd). Under Node 20 there
 * is no global WebSocket, so callers there pass `webSocket` (the `ws` package's constructor).
 */
export function connectNeon(
  url: string,
  config: DataConfig,
  label: string,
  log: SlowQueryLog,
  webSocket?: unknown,
): DriverConnection & { pool: Pool } {
  if (config.NEON_WS_PROXY) configureNeonProxy(config.NEON_WS_PROXY);
  if (webSocket) neonConfig.webSocketConstructor = webSocket as typeof neonConfig.webSocketConstructor;
  const pool = new Pool(poolOptions(url, config));
  pool.on('error', () => {});
  pool.on('connect', (client: object) => {
    timeQueries(client, 'query', { thresholdMs: config.DATABASE_SLOW_QUERY_MS, label, log });
  });
  const db = drizzle({ client: pool, schema }) as unknown as Database;
  return { db, pool, close: () => pool.end() };
}

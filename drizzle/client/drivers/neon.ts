import { neonConfig, Pool, type PoolClient } from '@neondatabase/serverless';
import { drizzle } from 'drizzle-orm/neon-serverless';
import type { DataConfig } from '../../../shared/config/data.ts';
import * as schema from '../../schema/index.ts';
import { timeQueries } from '../slow-query.ts';
import type { Database, DriverConnection, SlowQueryLog } from '../types.ts';
import { poolOptions } from './pool-options.ts';

/** How long `close()` waits for the pool's WebSockets to report closed before it gives up waiting. */
const CLOSE_WAIT_MS = 2_000;

type SocketWrite = (
  data: Uint8Array | string,
  encoding?: string | ((err?: unknown) => void),
  callback?: (err?: unknown) => void,
) => boolean;

const WRITE_FIXED = Symbol.for('aiserve.neon.writeCallbackFixed');

/**
 * Makes the Neon driver's socket (`neonConfig` is its class) honour `write(data, callback)`. Its `write` takes
 * `(data, encoding, callback)` only, and the pg `Connection.end()` it embeds calls `write(terminate, () =>
 * stream.end())`: the callback lands in the encoding slot and never runs, so after Terminate the WebSocket is
 * never closed. PostgreSQL hides this (it closes its side on Terminate); a server that waits for the client to
 * hang up, such as the PGlite socket server of the local stack, keeps every such connection open until it hits
 * its cap (node-postgres fixed the same bug in its own Cloudflare socket). With `coalesceWrites` (the default)
 * the data only leaves in a `setTimeout(0)` armed by this write, so the callback runs after it: the close
 * then follows Terminate instead of overtaking it. Global because the class is; done once.
 */
function honourWriteCallback(): void {
  const proto = neonConfig.prototype as unknown as { write: SocketWrite; [WRITE_FIXED]?: true };
  if (proto[WRITE_FIXED]) return;
  const write = proto.write;
  proto.write = function writeWithCallback(this: unknown, data, encoding, callback) {
    if (typeof encoding === 'function') {
      const done = encoding;
      return write.call(this, data, 'utf8', (err) => {
        setTimeout(() => done(err), 0);
      });
    }
    return write.call(this, data, encoding, callback);
  };
  proto[WRITE_FIXED] = true;
}

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
 *
 * `close()` resolves once every connection's WebSocket has closed (bounded by `CLOSE_WAIT_MS`), not merely when
 * the pool stops handing them out, as `pool.end()` does: on Workers the caller ends the request right after,
 * and a socket still closing then would be left open.
 */
export function connectNeon(
  url: string,
  config: DataConfig,
  label: string,
  log: SlowQueryLog,
  webSocket?: unknown,
): DriverConnection & { pool: Pool } {
  honourWriteCallback();
  if (config.NEON_WS_PROXY) configureNeonProxy(config.NEON_WS_PROXY);
  if (webSocket) neonConfig.webSocketConstructor = webSocket as typeof neonConfig.webSocketConstructor;
  const pool = new Pool(poolOptions(url, config));
  // Connections whose socket has not closed yet: a client emits `end` once its socket has closed, however it
  // ended (closed by the pool, idle timeout, the server or the network going away).
  let open = 0;
  let allClosed: (() => void) | null = null;
  pool.on('error', () => {});
  pool.on('connect', (client: PoolClient) => {
    open += 1;
    client.once('end', () => {
      open -= 1;
      if (open === 0) allClosed?.();
    });
    timeQueries(client, 'query', { thresholdMs: config.DATABASE_SLOW_QUERY_MS, label, log });
  });
  const db = drizzle({ client: pool, schema }) as unknown as Database;
  const close = async (): Promise<void> => {
    await pool.end();
    if (open === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = await Promise.race([
      new Promise<true>((resolve) => {
        allClosed = () => resolve(true);
      }),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), CLOSE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!closed)
      throw new Error(`${open} Neon connection(s) still open ${CLOSE_WAIT_MS} ms after pool.end()`);
  };
  return { db, pool, close };
}

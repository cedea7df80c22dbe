/**
 * Embedded Postgres for a machine with nothing installed: PGlite (Postgres compiled to WASM) persisted in a
 * folder, served on a TCP port by `@electric-sql/pglite-socket` so every ordinary driver (`pg`, and the Neon
 * driver through the WebSocket proxy) can connect. PGlite is one single-user backend: the socket server
 * multiplexes the connections over it, queueing queries, and keeps a connection's open transaction exclusive
 * until it ends (other connections' queries wait meanwhile). Standalone: `tsx scripts/dev/pglite-server.ts`.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { loadConfig } from '../../shared/config/load.ts';
import { pgliteServerConfigSchema } from '../../shared/config/local.ts';

export interface PgliteServerOptions {
  /** Data folder (created when missing); `memory://` keeps everything in memory. Default `.data/pglite`. */
  dataDir?: string;
  host?: string;
  /** 0 picks a free port. Default 5432 would collide with a local Postgres, so the default here is 0. */
  port?: number;
  /** Concurrent client connections the socket server accepts (queries are queued over the one backend). */
  maxConnections?: number;
}

export interface PgliteServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (no password, no TLS: the socket server refuses SSL). */
  url: string;
  host: string;
  port: number;
  dataDir: string;
  /**
   * Client connections open now. PGlite is one backend, so `pg_stat_activity` shows one session whatever the
   * clients: this count, the socket server's own, is the one to watch for leaked connections.
   */
  connections(): number;
  close(): Promise<void>;
}

export async function startPglite(options: PgliteServerOptions = {}): Promise<PgliteServer> {
  const host = options.host ?? '127.0.0.1';
  const memory = options.dataDir?.startsWith('memory://') ?? false;
  const dataDir = memory ? options.dataDir! : resolve(options.dataDir ?? '.data/pglite');
  if (!memory) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(memory ? undefined : dataDir);
  const server = new PGLiteSocketServer({
    db,
    host,
    port: options.port ?? 0,
    // The package's default is 1: a second client (the origin next to the edge, a CLI) would be refused.
    maxConnections: options.maxConnections ?? 64,
  });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw err;
  }
  const conn = server.getServerConn();
  const port = Number(conn.slice(conn.lastIndexOf(':') + 1));
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closed = false;
  return {
    url: `postgres://postgres@${urlHost}:${port}/postgres`,
    host,
    port,
    dataDir,
    connections: () => server.getStats().activeConnections,
    close: async () => {
      if (closed) return;
      closed = true;
      await server.stop();
      // Closing flushes PGlite's data files; skipping it can lose the last writes.
      await db.close();
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig(pgliteServerConfigSchema, process.env, 'PGlite server');
  const server = await startPglite({
    dataDir: config.PGLITE_DATA_DIR,
    host: config.PGLITE_HOST,
    port: config.PGLITE_PORT,
    maxConnections: config.PGLITE_MAX_CONNECTIONS,
  });
  process.stdout.write(`PGlite (${server.dataDir}) at ${server.url}\n  DATABASE_URL=${server.url}\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`pglite server failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

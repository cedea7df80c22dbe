import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type NeonWsProxy, startNeonWsProxy } from '../../../../scripts/dev/neon-ws-proxy.ts';
import { type PgliteServer, startPglite } from '../../../../scripts/dev/pglite-server.ts';
import { loadDataConfig } from '../../../../shared/config/data.ts';
import {
  createDatabaseSource,
  type DatabaseSource,
} from '../../../../workers/stores/database/database-source.ts';

/**
 * Connection lifetime, counted where it matters: on the server. The server is the local stack's PGlite socket
 * server, which (unlike PostgreSQL) keeps a connection open until the client hangs up, so a client that sends
 * Terminate but never closes its socket shows here as a connection that stays. The Neon driver reaches it
 * through the local WebSocket proxy, as the edge does under wrangler.
 */

let pglite: PgliteServer;
let proxy: NeonWsProxy;

function sourceFor(
  driver: 'neon' | 'pg',
  perUse: boolean,
  env: Record<string, string> = {},
  through: NeonWsProxy = proxy,
): DatabaseSource {
  const config = loadDataConfig({
    DATABASE_URL: pglite.url,
    DATABASE_DRIVER: driver,
    NEON_WS_PROXY: through.address,
    DATABASE_MAX_LIFETIME_SECONDS: '0',
    ...env,
  });
  return createDatabaseSource(config, {
    perUse,
    webSocket: WebSocket,
    onCloseError: (err) => {
      throw err;
    },
  });
}

/** Runs `count` uses, `concurrency` at a time, noting the most server connections seen while they ran. */
async function load(source: DatabaseSource, count: number, concurrency: number): Promise<number> {
  let next = 0;
  let most = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      await source.use(async (h) => {
        await h.primary.execute(sql`SELECT 1`);
        most = Math.max(most, pglite.connections());
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return most;
}

const settled = () => expect.poll(() => pglite.connections(), { timeout: 3_000, interval: 20 });

describe.each(['neon', 'pg'] as const)('database connections on the server (%s driver)', (driver) => {
  // A server per driver, so one driver's leak cannot fail the other's cases through the connection cap.
  beforeAll(async () => {
    pglite = await startPglite({ dataDir: 'memory://' });
    proxy = await startNeonWsProxy({ targetHost: pglite.host, targetPort: pglite.port });
  });
  afterAll(async () => {
    await proxy?.close();
    await pglite?.close();
  });

  it('one connection per use (Workers): 64 uses, 16 at a time, leave none open and never hold more than 16', async () => {
    await settled().toBe(0);
    const source = sourceFor(driver, true);
    const most = await load(source, 64, 16);
    expect(most).toBeLessThanOrEqual(16);
    // Each use closes its connection before it settles (the server sees the hang-up a moment later).
    await settled().toBe(0);
    // And the database still answers afterwards: nothing ran into the server's connection cap.
    const answer = await source.use((h) => h.primary.execute(sql`SELECT 42 AS n`));
    expect((answer as unknown as { rows: unknown[] }).rows).toEqual([{ n: 42 }]);
    await settled().toBe(0);
  });

  it('a use whose query fails still closes its connection', async () => {
    const source = sourceFor(driver, true);
    await expect(
      source.use((h) => h.primary.execute(sql`SELECT * FROM no_such_table_here`)),
    ).rejects.toThrow();
    await settled().toBe(0);
  });

  it('one pool for the process (Node): bounded by DATABASE_POOL_MAX, idle connections closed, all on close()', async () => {
    const source = sourceFor(driver, false, { DATABASE_POOL_MAX: '4', DATABASE_IDLE_TIMEOUT_MS: '200' });
    const most = await load(source, 64, 16);
    expect(most).toBeLessThanOrEqual(4);
    // The pool's idle timeout ends them (a leak here would hold them until the process exits).
    await settled().toBe(0);
    await load(source, 8, 4);
    await source.close();
    await settled().toBe(0);
  });

  it('closes at once a pool whose connections the network already dropped', async () => {
    const own = await startNeonWsProxy({ targetHost: pglite.host, targetPort: pglite.port });
    const source = sourceFor(driver, false, {}, own);
    await load(source, 4, 2);
    // The proxy going away cuts every Neon connection from under the pool (pg connects directly: unaffected).
    await own.close();
    const started = Date.now();
    await source.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    await settled().toBe(0);
  });
});

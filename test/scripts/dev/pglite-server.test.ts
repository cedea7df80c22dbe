import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { neonConfig, Pool } from '@neondatabase/serverless';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startNeonWsProxy } from '../../../scripts/dev/neon-ws-proxy.ts';
import { type PgliteServer, startPglite } from '../../../scripts/dev/pglite-server.ts';

let dir: string;
let server: PgliteServer | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aiserve-pglite-'));
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const connect = async (url: string) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
};

describe('PGlite socket server', () => {
  it('serves two pg clients connected at the same time, including one inside a transaction', async () => {
    server = await startPglite({ dataDir: join(dir, 'db') });
    expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    const a = await connect(server.url);
    const b = await connect(server.url);
    try {
      await a.query('CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)');
      const [ra, rb] = await Promise.all([
        a.query("INSERT INTO items VALUES (1, 'from a') RETURNING id"),
        b.query("INSERT INTO items VALUES (2, 'from b') RETURNING id"),
      ]);
      expect([ra.rows, rb.rows]).toEqual([[{ id: 1 }], [{ id: 2 }]]);

      await a.query('BEGIN');
      await a.query("INSERT INTO items VALUES (3, 'in tx')");
      // b's query waits for a's transaction to end (one backend underneath), then sees its committed row.
      const bRead = b.query('SELECT count(*)::int AS n FROM items');
      await a.query('COMMIT');
      expect((await bRead).rows).toEqual([{ n: 3 }]);

      const params = await b.query('SELECT $1::text AS t, $2::int + 1 AS n', ['x', 41]);
      expect(params.rows).toEqual([{ t: 'x', n: 42 }]);
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('keeps the data across a restart on the same folder', async () => {
    await server!.close();
    server = await startPglite({ dataDir: join(dir, 'db') });
    const c = await connect(server.url);
    try {
      const { rows } = await c.query('SELECT id, label FROM items ORDER BY id');
      expect(rows).toEqual([
        { id: 1, label: 'from a' },
        { id: 2, label: 'from b' },
        { id: 3, label: 'in tx' },
      ]);
    } finally {
      await c.end();
    }
  });

  it('answers the Neon driver through the Neon WebSocket proxy (the path the edge takes locally)', async () => {
    const proxy = await startNeonWsProxy({ targetHost: server!.host, targetPort: server!.port });
    neonConfig.webSocketConstructor = WebSocket;
    neonConfig.wsProxy = proxy.address;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
    const pool = new Pool({ connectionString: server!.url, max: 2 });
    try {
      const { rows } = await pool.query('SELECT label FROM items WHERE id = $1', [2]);
      expect(rows).toEqual([{ label: 'from b' }]);
      expect(proxy.connections()).toBeGreaterThan(0);
    } finally {
      await pool.end();
      await proxy.close();
    }
  });

  it('reports a SQL error to the client and keeps serving it', async () => {
    const c = await connect(server!.url);
    try {
      await expect(c.query('SELECT * FROM nope')).rejects.toMatchObject({ code: '42P01' });
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await c.end();
    }
  });
});

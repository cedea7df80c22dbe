import { neonConfig, Pool } from '@neondatabase/serverless';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/neon-serverless';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createTempDatabase, type TempDatabase } from '../../../fixtures/temp-database.ts';
import { type NeonWsProxy, startNeonWsProxy } from '../../../scripts/dev/neon-ws-proxy.ts';

const notes = pgTable('notes', { id: integer('id').primaryKey(), body: text('body').notNull() });

let proxy: NeonWsProxy;
let database: TempDatabase;
let pool: Pool;

beforeAll(async () => {
  database = await createTempDatabase();
  const target = new URL(database.url);
  proxy = await startNeonWsProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  // The settings the edge uses for a non-Neon Postgres (Node 20 has no global WebSocket, so pass ws).
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = proxy.address;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  pool = new Pool({ connectionString: database.url, max: 4 });
});

afterAll(async () => {
  await pool?.end();
  await proxy?.close();
  await database?.drop();
});

describe('Neon WebSocket proxy with @neondatabase/serverless and drizzle in Node', () => {
  it('runs DDL, inserts and a typed select through drizzle over the proxy', async () => {
    const db = drizzle({ client: pool });
    await db.execute(sql`CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL)`);
    await db.insert(notes).values([
      { id: 1, body: 'first' },
      { id: 2, body: 'ünïcode ✓' },
    ]);
    const rows = await db.select().from(notes).orderBy(notes.id);
    expect(rows).toEqual([
      { id: 1, body: 'first' },
      { id: 2, body: 'ünïcode ✓' },
    ]);
    expect(proxy.connections()).toBeGreaterThan(0);
  });

  it('keeps a transaction on one connection: a rollback leaves nothing behind', async () => {
    const db = drizzle({ client: pool });
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(notes).values({ id: 10, body: 'doomed' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await db.select().from(notes).where(sql`${notes.id} = 10`)).toEqual([]);
  });

  it('streams a result larger than a WebSocket frame intact', async () => {
    const { rows } = await pool.query(
      "SELECT g AS n, repeat('x', 100) AS pad FROM generate_series(1, 50000) g",
    );
    expect(rows).toHaveLength(50_000);
    expect(rows[49_999]).toEqual({ n: 50_000, pad: 'x'.repeat(100) });
    expect(rows.every((r, i) => r.n === i + 1)).toBe(true);
    const big = await pool.query("SELECT repeat('y', 3000000) AS v");
    expect(big.rows[0].v.length).toBe(3_000_000);
  });

  it('passes Postgres errors back to the driver with their SQLSTATE', async () => {
    await expect(pool.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
    // The pool is still usable afterwards.
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('answers a plain HTTP request with 426 and a JSON error instead of hanging', async () => {
    const res = await fetch(`http://${proxy.address}/v2`);
    expect(res.status).toBe(426);
    expect(await res.json()).toEqual({ error: expect.stringContaining('WebSocket') });
  });
});

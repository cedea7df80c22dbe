import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AUDIT_ARCHIVED_ACTION,
  AUDIT_GENESIS_HASH,
  appendAudit,
  listAudit,
  verifyAuditChain,
} from '../../../drizzle/queries/audit.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

let tdb: TestDatabase;

/** Tampering as a superuser would: replica mode skips the append-only trigger for this connection only. */
async function tamper(sqlText: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: tdb.url });
  await client.connect();
  try {
    await client.query('SET session_replication_role = replica');
    await client.query(sqlText, params);
  } finally {
    await client.end();
  }
}

async function appendMany(n: number, actor = 'test'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1) {
    ids.push(
      (await appendAudit(tdb.db, { actor, action: 'key.created', target: `key:${i}`, details: { i } })).id,
    );
  }
  return ids;
}

beforeAll(async () => {
  tdb = await createTestDatabase();
});

afterAll(async () => {
  await tdb.close();
});

beforeEach(async () => {
  // Each test starts an empty chain (the trigger refuses TRUNCATE, so as a superuser).
  await tamper('DELETE FROM audit_log');
});

describe('appendAudit', () => {
  it('chains each row to the one before, starting from the genesis hash', async () => {
    const a = await appendAudit(tdb.db, {
      actor: 'cli',
      action: 'key.created',
      target: 'key:a',
      details: { n: 1 },
    });
    const b = await appendAudit(tdb.db, {
      actor: 'cli',
      action: 'key.revoked',
      target: 'key:a',
      details: {},
    });
    expect(a.prevHash).toBe(AUDIT_GENESIS_HASH);
    expect(b.prevHash).toBe(a.hash);
    expect(BigInt(b.id)).toBeGreaterThan(BigInt(a.id));
    expect(a.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await verifyAuditChain(tdb.db)).toEqual({ ok: true, rows: 2 });
  });

  it('never forks the chain under concurrent appends from separate pools', async () => {
    const other = new pg.Pool({ connectionString: tdb.url, max: 4 });
    const { drizzle } = await import('drizzle-orm/node-postgres');
    const otherDb = drizzle(other);
    try {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          appendAudit(i % 2 ? tdb.db : otherDb, {
            actor: `w${i}`,
            action: 'model.updated',
            target: 'model:m',
            details: { i },
          }),
        ),
      );
    } finally {
      await other.end();
    }
    const rows = await listAudit(tdb.db, { limit: 100 });
    expect(rows).toHaveLength(40);
    expect(new Set(rows.map((r) => r.prevHash)).size).toBe(40);
    expect(await verifyAuditChain(tdb.db)).toEqual({ ok: true, rows: 40 });
  });

  it("rolls back with the caller's transaction and leaves the chain intact", async () => {
    await appendMany(1);
    await expect(
      tdb.db.transaction(async (tx) => {
        await appendAudit(tx, { actor: 'cli', action: 'key.created', target: 'key:x', details: {} });
        throw new Error('caller failed');
      }),
    ).rejects.toThrow('caller failed');
    await appendMany(1);
    expect(await verifyAuditChain(tdb.db)).toEqual({ ok: true, rows: 2 });
  });

  it('stores details exactly as hashed, however the caller ordered the keys', async () => {
    await appendAudit(tdb.db, {
      actor: 'cli',
      action: 'model.updated',
      target: 'model:m',
      details: { z: { b: [1, 2.5, 'x'], a: null }, a: 'é', skipped: undefined },
    });
    const [row] = await listAudit(tdb.db);
    expect(row!.details).toEqual({ a: 'é', z: { a: null, b: [1, 2.5, 'x'] } });
    expect((await verifyAuditChain(tdb.db)).ok).toBe(true);
  });
});

describe('audit_log append-only trigger', () => {
  it('refuses UPDATE, DELETE and TRUNCATE, on the table and on a partition', async () => {
    const [id] = await appendMany(1);
    const { rows } = await tdb.pool.query(
      `SELECT tableoid::regclass::text AS part FROM audit_log WHERE id = $1`,
      [id],
    );
    const partition = rows[0].part as string;
    for (const statement of [
      `UPDATE audit_log SET actor = 'mallory' WHERE id = ${id}`,
      `DELETE FROM audit_log WHERE id = ${id}`,
      `DELETE FROM ${partition} WHERE id = ${id}`,
      'TRUNCATE audit_log',
    ]) {
      await expect(tdb.pool.query(statement), statement).rejects.toThrow(/audit_log is append-only/);
    }
    expect(await verifyAuditChain(tdb.db)).toEqual({ ok: true, rows: 1 });
  });
});

describe('verifyAuditChain', () => {
  it('finds an altered row and names it', async () => {
    const ids = await appendMany(5);
    await tamper(`UPDATE audit_log SET details = '{"i": 99}' WHERE id = $1`, [ids[2]]);
    expect(await verifyAuditChain(tdb.db)).toMatchObject({
      ok: false,
      firstBadId: ids[2],
      reason: expect.stringMatching(/altered/),
    });
  });

  it('finds an altered row even when its hash was recomputed (the next link breaks)', async () => {
    const ids = await appendMany(4);
    await tamper(`UPDATE audit_log SET actor = 'mallory', hash = repeat('a', 64) WHERE id = $1`, [ids[1]]);
    const result = await verifyAuditChain(tdb.db);
    expect(result.ok).toBe(false);
    expect(result).toMatchObject({ firstBadId: ids[1] });
  });

  it('finds a deleted row in the middle by the broken link of the row after it', async () => {
    const ids = await appendMany(5);
    await tamper('DELETE FROM audit_log WHERE id = $1', [ids[2]]);
    expect(await verifyAuditChain(tdb.db)).toMatchObject({
      ok: false,
      firstBadId: ids[3],
      reason: expect.stringMatching(/prev_hash/),
    });
  });

  it('finds deleted oldest rows, unless a detached-partition record accounts for them', async () => {
    const ids = await appendMany(3);
    const [first] = await listAudit(tdb.db, { limit: 1, beforeId: ids[1] });
    await tamper('DELETE FROM audit_log WHERE id = $1', [ids[0]]);
    expect(await verifyAuditChain(tdb.db)).toMatchObject({
      ok: false,
      firstBadId: ids[1],
      reason: expect.stringMatching(/oldest/),
    });

    await appendAudit(tdb.db, {
      actor: 'partitions',
      action: AUDIT_ARCHIVED_ACTION,
      target: 'audit_log_p000000',
      details: { lastId: first!.id, lastHash: first!.hash },
    });
    expect(await verifyAuditChain(tdb.db)).toEqual({ ok: true, rows: 3 });
  });

  it('walks chains longer than one page', async () => {
    await appendMany(7);
    expect(await verifyAuditChain(tdb.db, 3)).toEqual({ ok: true, rows: 7 });
  });
});

describe('listAudit', () => {
  it('pages newest first with a keyset cursor and filters by target and action', async () => {
    const ids = await appendMany(5);
    const page1 = await listAudit(tdb.db, { limit: 2 });
    const page2 = await listAudit(tdb.db, { limit: 2, beforeId: page1[1]!.id });
    expect([...page1, ...page2].map((r) => r.id)).toEqual([ids[4], ids[3], ids[2], ids[1]]);
    expect((await listAudit(tdb.db, { target: 'key:3' })).map((r) => r.id)).toEqual([ids[3]]);
    expect(await listAudit(tdb.db, { action: 'key.revoked' })).toEqual([]);
  });
});

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../../../drizzle/queries/audit.ts';
import { auditGroup } from '../../../../scripts/cli/commands/audit.ts';
import { createTestDatabase, type TestDatabase } from '../../../support/test-database.ts';
import { cli } from './pipeline-cli.ts';

let tdb: TestDatabase;
const run = (...argv: string[]) => cli([auditGroup], tdb.url, ['audit', ...argv]);

beforeAll(async () => {
  tdb = await createTestDatabase();
  for (const [action, target] of [
    ['key.created', 'key:aaaa'],
    ['model.updated', 'model:mnist'],
    ['key.revoked', 'key:aaaa'],
  ]) {
    await appendAudit(tdb.db, {
      actor: 'cli:test',
      action: action!,
      target: target!,
      details: { why: 'test' },
    });
  }
});

afterAll(async () => {
  await tdb.close();
});

describe('audit list', () => {
  it('prints entries newest first, filtered by target', async () => {
    const r = await run('list', '--target', 'key:aaaa');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/key\.revoked\s+key:aaaa\s+\{"why":"test"\}$/);
    expect(lines[2]).toMatch(/key\.created/);
  });

  it('rejects a non-numeric --before with exit 2', async () => {
    expect(await run('list', '--before', 'abc')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--before'),
    });
  });
});

describe('audit verify', () => {
  it('exits 0 on an intact chain and 1 naming the first bad entry once a row is altered', async () => {
    const ok = await run('verify', '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ ok: true, rows: 3 });

    const { rows } = await tdb.pool.query(`SELECT id::text FROM audit_log WHERE action = 'model.updated'`);
    const client = new pg.Client({ connectionString: tdb.url });
    await client.connect();
    await client.query('SET session_replication_role = replica');
    await client.query(`UPDATE audit_log SET target = 'model:other' WHERE id = $1`, [rows[0].id]);
    await client.end();

    const broken = await run('verify');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`audit chain broken at entry ${rows[0].id}`);
  });
});

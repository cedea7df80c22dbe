import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUsageEvents } from '../../../../drizzle/pipeline/insert-usage.ts';
import { usageGroup } from '../../../../scripts/cli/commands/usage.ts';
import { createTestDatabase, type TestDatabase } from '../../../support/test-database.ts';
import { usageEvent } from '../../../support/usage-fixtures.ts';
import { cli } from './pipeline-cli.ts';

let tdb: TestDatabase;
let tenantId: string;
const run = (...argv: string[]) => cli([usageGroup], tdb.url, ['usage', ...argv]);

beforeAll(async () => {
  tdb = await createTestDatabase();
  tenantId = (await tdb.pool.query(`INSERT INTO tenants (name) VALUES ('acme') RETURNING id::text`)).rows[0]
    .id;
  const base = Date.UTC(2026, 10, 2);
  await insertUsageEvents(tdb.db, [
    usageEvent({ tenantId, ts: base, model: 'mnist', cache: 'HIT-EDGE', latencyMs: 10 }),
    usageEvent({ tenantId, ts: base + 1000, model: 'mnist', cache: 'MISS', latencyMs: 30, status: 500 }),
    usageEvent({ tenantId, ts: base + 2000, model: 'resnet', cache: 'MISS', latencyMs: 50, items: 4 }),
  ]);
});

afterAll(async () => {
  await tdb.close();
});

describe('usage report', () => {
  it('prints totals and a line per model for a tenant named by name', async () => {
    const r = await run('report', '--tenant', 'acme', '--from', '2026-11-01', '--to', '2026-12-01');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`tenant acme (${tenantId}), 2026-11-01T00:00:00.000Z to 2026-12-01T00:00:00.000Z`);
    expect(lines[2]).toMatch(/^\(all\)\s+3\s+6\s+33\.3%\s+0\s+1\s+30\.0\s+48\.0$/);
    expect(lines[3]).toMatch(/^mnist\s+2\s+2\s+50\.0%/);
    expect(lines[4]).toMatch(/^resnet\s+1\s+4\s+0\.0%/);
  });

  it('--json prints the report, tenant addressed by id', async () => {
    const r = await run(
      'report',
      '--tenant',
      tenantId,
      '--from',
      '2026-11-01T00:00:00Z',
      '--to',
      '2026-11-03',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data.tenant).toEqual({ id: tenantId, name: 'acme' });
    expect(data.totals).toMatchObject({ requests: 3, items: 6, cacheHits: 1, serverErrors: 1 });
    expect(data.byModel.map((m: { model: string }) => m.model)).toEqual(['mnist', 'resnet']);
  });

  it('exits 3 for an unknown tenant and 2 for bad times, naming the problem', async () => {
    const unknown = await run('report', '--tenant', 'nobody', '--from', '2026-11-01', '--to', '2026-12-01');
    expect(unknown).toMatchObject({ code: 3, stderr: expect.stringContaining('no tenant "nobody"') });
    const bad = await run('report', '--tenant', 'acme', '--from', 'yesterday', '--to', '2026-12-01');
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('--from must be an ISO 8601') });
    const inverted = await run('report', '--tenant', 'acme', '--from', '2026-12-01', '--to', '2026-11-01');
    expect(inverted).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--from must be before --to'),
    });
    const missing = await run('report', '--from', '2026-11-01', '--to', '2026-12-01');
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('--tenant is required') });
  });

  it('exits 5 naming the host when the database cannot be reached', async () => {
    const r = await cli([usageGroup], 'postgres://postgres@127.0.0.1:1/none', [
      'usage',
      'report',
      '--tenant',
      'acme',
      '--from',
      '2026-11-01',
      '--to',
      '2026-12-01',
    ]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('cannot reach the database at 127.0.0.1:1/none');
  });
});

describe('usage list', () => {
  it('pages through events newest first with the printed cursor', async () => {
    const first = await run(
      'list',
      '--tenant',
      'acme',
      '--from',
      '2026-11-01',
      '--to',
      '2026-12-01',
      '--limit',
      '2',
      '--json',
    );
    expect(first.code, first.stderr).toBe(0);
    const page1 = JSON.parse(first.stdout);
    expect(page1.events.map((e: { model: string }) => e.model)).toEqual(['resnet', 'mnist']);
    const second = await run(
      'list',
      '--tenant',
      'acme',
      '--from',
      '2026-11-01',
      '--to',
      '2026-12-01',
      '--limit',
      '2',
      '--cursor',
      page1.nextCursor,
      '--json',
    );
    const page2 = JSON.parse(second.stdout);
    expect(page2.events).toHaveLength(1);
    expect(page2.nextCursor).toBeNull();
    const foreign = await run(
      'list',
      '--tenant',
      'acme',
      '--from',
      '2026-11-01',
      '--to',
      '2026-12-01',
      '--cursor',
      randomUUID(),
    );
    expect(foreign).toMatchObject({ code: 2, stderr: expect.stringContaining('cursor') });
  });
});

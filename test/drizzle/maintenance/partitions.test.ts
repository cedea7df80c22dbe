import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PARTITIONED_TABLES, partitionName } from '../../../drizzle/maintenance/partition-plan.ts';
import { listPartitions, runPartitionMaintenance } from '../../../drizzle/maintenance/partitions.ts';
import { insertUsageEvents } from '../../../drizzle/pipeline/insert-usage.ts';
import { appendAudit, verifyAuditChain } from '../../../drizzle/queries/audit.ts';
import { AUDIT_GENESIS_HASH, auditRowHash } from '../../../drizzle/queries/audit-hash.ts';
import type { PartitionsConfig } from '../../../shared/config/pipeline.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { usageEvent } from '../../support/usage-fixtures.ts';

let tdb: TestDatabase;

const config = (over: Partial<PartitionsConfig> = {}): PartitionsConfig => ({
  PARTITIONS_MONTHS_AHEAD: 2,
  USAGE_RETENTION_MONTHS: 0,
  AUDIT_RETENTION_MONTHS: 0,
  PARTITIONS_RETENTION_MODE: 'archive',
  ...over,
});

const now = new Date();
const currentIndex = now.getUTCFullYear() * 12 + now.getUTCMonth();
const monthDate = (offset: number, day = 15) =>
  new Date(Date.UTC(Math.floor((currentIndex + offset) / 12), (currentIndex + offset) % 12, day));

async function insertUsage(ts: Date, tenantId = randomUUID()): Promise<void> {
  await tdb.pool.query(
    `INSERT INTO usage_events (event_id, ts, tenant_id, route, status, latency_ms, cache, items, request_id)
     VALUES ($1, $2, $3, '/v2/models/:name/infer', 200, 5, 'MISS', 1, 'r')`,
    [randomUUID(), ts.toISOString(), tenantId],
  );
}

async function whereIs(table: string, sqlWhere: string): Promise<string[]> {
  const r = await tdb.pool.query(`SELECT tableoid::regclass::text AS part FROM ${table} WHERE ${sqlWhere}`);
  return r.rows.map((x) => x.part);
}

beforeEach(async () => {
  tdb = await createTestDatabase();
});

afterEach(async () => {
  await tdb.close();
});

describe('runPartitionMaintenance', () => {
  it('creates the months ahead, and a second run finds nothing to do', async () => {
    const first = await runPartitionMaintenance(tdb.db, config({ PARTITIONS_MONTHS_AHEAD: 5 }), { now });
    // The migrations made the current month and two ahead; months 3..5 ahead are new, for every table.
    expect(first.actions.map((a) => a.name).sort()).toEqual(
      [3, 4, 5].flatMap((o) => PARTITIONED_TABLES.map((t) => partitionName(t, currentIndex + o))).sort(),
    );
    const parts = await listPartitions(tdb.db);
    expect(parts.usage_events).toContain(partitionName('usage_events', currentIndex + 5));
    await insertUsage(monthDate(5));
    expect(await whereIs('usage_events', 'true')).toEqual([partitionName('usage_events', currentIndex + 5)]);
    expect(
      (await runPartitionMaintenance(tdb.db, config({ PARTITIONS_MONTHS_AHEAD: 5 }), { now })).actions,
    ).toEqual([]);
  });

  it('--dry-run reports the plan and changes nothing', async () => {
    const before = await listPartitions(tdb.db);
    const result = await runPartitionMaintenance(tdb.db, config({ PARTITIONS_MONTHS_AHEAD: 4 }), {
      now,
      dryRun: true,
    });
    expect(result.dryRun).toBe(true);
    expect(result.actions).toHaveLength(2 * PARTITIONED_TABLES.length);
    expect(await listPartitions(tdb.db)).toEqual(before);
  });

  it('moves rows that landed in the default partition into the month created for them, audit rows included', async () => {
    await insertUsage(monthDate(4));
    await insertUsage(monthDate(9));
    // A plain INSERT is allowed on the append-only audit table; it lands in the default partition.
    await tdb.pool.query(
      `INSERT INTO audit_log (ts, actor, action, target, prev_hash, hash) VALUES ($1, 'a', 'x', 't', 'p', 'h')`,
      [monthDate(4).toISOString()],
    );
    const result = await runPartitionMaintenance(tdb.db, config({ PARTITIONS_MONTHS_AHEAD: 4 }), { now });
    expect(result.movedRows).toBe(2);
    expect((await whereIs('usage_events', 'true')).sort()).toEqual(
      [partitionName('usage_events', currentIndex + 4), 'usage_events_default'].sort(),
    );
    expect(await whereIs('audit_log', 'true')).toEqual([partitionName('audit_log', currentIndex + 4)]);
  });

  it('archives usage partitions past retention into the archive schema, rows intact and out of the parent', async () => {
    const later = monthDate(6);
    await insertUsage(monthDate(0));
    await insertUsage(monthDate(1));
    const result = await runPartitionMaintenance(
      tdb.db,
      config({ PARTITIONS_MONTHS_AHEAD: 0, USAGE_RETENTION_MONTHS: 4 }),
      {
        now: later,
      },
    );
    const detached = result.actions
      .filter((a) => a.kind === 'detach' && a.table === 'usage_events')
      .map((a) => a.name);
    expect(detached).toEqual([
      partitionName('usage_events', currentIndex),
      partitionName('usage_events', currentIndex + 1),
    ]);
    expect((await tdb.pool.query('SELECT count(*)::int AS n FROM usage_events')).rows[0].n).toBe(0);
    const archived = await tdb.pool.query(`SELECT count(*)::int AS n FROM archive.${detached[0]}`);
    expect(archived.rows[0].n).toBe(1);
  });

  it('drops usage partitions past retention in drop mode', async () => {
    await insertUsage(monthDate(0));
    await runPartitionMaintenance(
      tdb.db,
      config({ PARTITIONS_MONTHS_AHEAD: 0, USAGE_RETENTION_MONTHS: 1, PARTITIONS_RETENTION_MODE: 'drop' }),
      { now: monthDate(3) },
    );
    const left = await tdb.pool.query(`SELECT count(*)::int AS n FROM pg_class WHERE relname = $1`, [
      partitionName('usage_events', currentIndex),
    ]);
    expect(left.rows[0].n).toBe(0);
    expect((await tdb.pool.query('SELECT count(*)::int AS n FROM usage_events')).rows[0].n).toBe(0);
  });

  it('partitions the usage rollups like usage: rows move out of the default with their month, retire with usage, and the totals stay', async () => {
    const tenantId = randomUUID();
    await insertUsageEvents(tdb.db, [
      usageEvent({ tenantId, ts: monthDate(0).getTime() }),
      usageEvent({ tenantId, ts: monthDate(5).getTime() }),
    ]);
    // Month +5 has no partition yet (the migration made 0..2): its rollup row waits in the default partition.
    expect((await whereIs('usage_rollups', 'true')).sort()).toEqual(
      [partitionName('usage_rollups', currentIndex), 'usage_rollups_default'].sort(),
    );
    const created = await runPartitionMaintenance(tdb.db, config({ PARTITIONS_MONTHS_AHEAD: 5 }), { now });
    expect(created.movedRows).toBe(2);
    expect((await whereIs('usage_rollups', 'true')).sort()).toEqual(
      [partitionName('usage_rollups', currentIndex), partitionName('usage_rollups', currentIndex + 5)].sort(),
    );

    const retired = await runPartitionMaintenance(
      tdb.db,
      config({ PARTITIONS_MONTHS_AHEAD: 0, USAGE_RETENTION_MONTHS: 2 }),
      { now: monthDate(8) },
    );
    const detached = (table: string) =>
      retired.actions.filter((a) => a.kind === 'detach' && a.table === table).map((a) => a.name.slice(-6));
    // The same months leave both tables.
    expect(detached('usage_rollups')).toEqual(detached('usage_events'));
    expect(detached('usage_rollups')).toContain(partitionName('usage_rollups', currentIndex).slice(-6));
    expect((await tdb.pool.query('SELECT count(*)::int AS n FROM usage_rollups')).rows[0].n).toBe(0);
    const archived = await tdb.pool.query(
      `SELECT requests::int AS n FROM archive.${partitionName('usage_rollups', currentIndex)} WHERE tenant_id = $1`,
      [tenantId],
    );
    expect(archived.rows).toEqual([{ n: 1 }]);
    // The running totals the metrics serve are not partitioned: retention does not lower a counter.
    const totals = await tdb.pool.query(
      'SELECT sum(requests)::int AS n FROM usage_rollup_totals WHERE tenant_id = $1',
      [tenantId],
    );
    expect(totals.rows[0].n).toBe(2);
  });

  it('detaching old audit months keeps the chain verifiable through the recorded anchor', async () => {
    // Three chained rows dated three months ago, in a partition made for them, then two current rows.
    const old = partitionName('audit_log', currentIndex - 3);
    await tdb.pool.query(
      `CREATE TABLE ${old} PARTITION OF audit_log FOR VALUES FROM ('${monthDate(-3, 1).toISOString()}') TO ('${monthDate(-2, 1).toISOString()}')`,
    );
    let prev = AUDIT_GENESIS_HASH;
    for (let i = 0; i < 3; i += 1) {
      const id = (
        await tdb.pool.query(`SELECT nextval(pg_get_serial_sequence('audit_log', 'id'))::text AS id`)
      ).rows[0].id;
      const row = {
        id,
        ts: monthDate(-3, 2 + i).toISOString(),
        actor: 'cli',
        action: 'key.created',
        target: `key:${i}`,
        details: {},
      };
      const hash = await auditRowHash(prev, row);
      await tdb.pool.query(
        `INSERT INTO audit_log (id, ts, actor, action, target, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, '{}', $6, $7)`,
        [id, row.ts, row.actor, row.action, row.target, prev, hash],
      );
      prev = hash;
    }
    await appendAudit(tdb.db, { actor: 'cli', action: 'key.revoked', target: 'key:0', details: {} });
    await appendAudit(tdb.db, { actor: 'cli', action: 'key.revoked', target: 'key:1', details: {} });
    expect(await verifyAuditChain(tdb.db)).toEqual({ ok: true, rows: 5 });

    const result = await runPartitionMaintenance(
      tdb.db,
      config({ PARTITIONS_MONTHS_AHEAD: 0, AUDIT_RETENTION_MONTHS: 2 }),
      {
        now,
      },
    );
    expect(result.actions.filter((a) => a.kind === 'detach').map((a) => a.name)).toEqual([old]);
    expect((await tdb.pool.query(`SELECT count(*)::int AS n FROM archive.${old}`)).rows[0].n).toBe(3);
    // Two current rows plus the anchor row recording the hash of the last archived one.
    expect(await verifyAuditChain(tdb.db)).toEqual({ ok: true, rows: 3 });
    // The archived rows stay append-only too: the trigger travelled with the partition.
    await expect(tdb.pool.query(`DELETE FROM archive.${old}`)).rejects.toThrow(/append-only/);
  });

  it('fails with the database error and applies nothing when the database is unreachable', async () => {
    const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', max: 1 });
    pool.on('error', () => {});
    const { drizzle } = await import('drizzle-orm/node-postgres');
    await expect(runPartitionMaintenance(drizzle(pool), config(), { now })).rejects.toThrow();
    await pool.end();
  });
});

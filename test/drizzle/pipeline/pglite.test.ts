import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../../drizzle/client/client.ts';
import { PARTITIONED_TABLES } from '../../../drizzle/maintenance/partition-plan.ts';
import { listPartitions, runPartitionMaintenance } from '../../../drizzle/maintenance/partitions.ts';
import { migrateDatabase } from '../../../drizzle/migrate.ts';
import { insertUsageEvents } from '../../../drizzle/pipeline/insert-usage.ts';
import { appendAudit, verifyAuditChain } from '../../../drizzle/queries/audit.ts';
import { usageReport } from '../../../drizzle/queries/usage.ts';
import { readRollupTotals } from '../../../drizzle/queries/usage-rollups.ts';
import { loadDataConfig } from '../../../shared/config/data.ts';
import { usageEvent } from '../../support/usage-fixtures.ts';

// The embedded default (`npm start` with no DATABASE_URL): the same SQL must work on PGlite.
let handle: DatabaseHandle;

beforeAll(async () => {
  handle = await createDatabase(loadDataConfig({ DATABASE_URL: 'memory://', DATABASE_SLOW_QUERY_MS: '0' }));
  await migrateDatabase(handle.primary);
});

afterAll(async () => {
  await handle?.close();
});

describe('pipeline on PGlite', () => {
  it('writes usage idempotently and reports it', async () => {
    const tenantId = randomUUID();
    const events = [
      usageEvent({ tenantId, latencyMs: 10 }),
      usageEvent({ tenantId, latencyMs: 20, cache: 'HIT-EDGE' }),
    ];
    expect(await insertUsageEvents(handle.primary, events)).toBe(2);
    expect(await insertUsageEvents(handle.primary, events)).toBe(0);
    const report = await usageReport(handle.primary, {
      tenantId,
      from: new Date(events[0]!.ts - 1000),
      to: new Date(events[0]!.ts + 1000),
    });
    expect(report.totals).toMatchObject({ requests: 2, cacheHitRatio: 0.5, p50LatencyMs: 15 });
    // The rollups are written by the same statement, once: the repeated insert added nothing.
    const totals = await readRollupTotals(handle.primary, { tenantId });
    expect(totals.map((t) => t.requests).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('appends and verifies the audit chain, and the trigger refuses changes', async () => {
    await appendAudit(handle.primary, {
      actor: 't',
      action: 'key.created',
      target: 'key:a',
      details: { n: 1 },
    });
    await appendAudit(handle.primary, { actor: 't', action: 'key.revoked', target: 'key:a', details: {} });
    expect(await verifyAuditChain(handle.primary)).toEqual({ ok: true, rows: 2 });
    await expect(handle.primary.execute('DELETE FROM audit_log')).rejects.toThrow();
  });

  it('runs partition maintenance: create ahead and archive past retention', async () => {
    const now = new Date();
    const result = await runPartitionMaintenance(
      handle.primary,
      {
        PARTITIONS_MONTHS_AHEAD: 3,
        USAGE_RETENTION_MONTHS: 0,
        AUDIT_RETENTION_MONTHS: 0,
        PARTITIONS_RETENTION_MODE: 'archive',
      },
      { now },
    );
    expect(result.actions.map((a) => a.kind)).toEqual(PARTITIONED_TABLES.map(() => 'create'));
    expect((await listPartitions(handle.primary)).usage_events).toHaveLength(5);
    expect((await listPartitions(handle.primary)).usage_rollups).toHaveLength(5);
    const later = new Date(Date.UTC(now.getUTCFullYear() + 1, now.getUTCMonth(), 15));
    const archived = await runPartitionMaintenance(
      handle.primary,
      {
        PARTITIONS_MONTHS_AHEAD: 0,
        USAGE_RETENTION_MONTHS: 2,
        AUDIT_RETENTION_MONTHS: 0,
        PARTITIONS_RETENTION_MODE: 'archive',
      },
      { now: later },
    );
    const detached = archived.actions.filter((a) => a.kind === 'detach');
    expect(detached.filter((a) => a.table === 'usage_events')).toHaveLength(4);
    expect(detached.filter((a) => a.table === 'usage_rollups')).toHaveLength(4);
  });
});

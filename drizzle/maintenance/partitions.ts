import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { PartitionsConfig } from '../../shared/config/pipeline.ts';
import { queryRows, type SqlDatabase, type SqlExecutor } from '../client/executor.ts';
import { AUDIT_ARCHIVED_ACTION, appendAudit } from '../queries/audit.ts';
import {
  PARTITION_KEYS,
  PARTITIONED_TABLES,
  type PartitionAction,
  type PartitionedTable,
  planPartitions,
} from './partition-plan.ts';

/** Where archived partitions go: detached, renamed into this schema, queryable, no longer in the parent. */
const ARCHIVE_SCHEMA = 'archive';

// Two maintenance runs (cron overlap, two operators) queue up instead of racing on the same DDL.
const MAINTENANCE_LOCK = 734_209_162;

export interface MaintenanceResult {
  actions: PartitionAction[];
  /** Rows moved out of a default partition into a newly created month. */
  movedRows: number;
  dryRun: boolean;
}

/** Partition names per table, read from the catalog. */
export async function listPartitions(db: SqlExecutor): Promise<Record<PartitionedTable, string[]>> {
  const rows = await queryRows<{ parent: string; name: string }>(
    db,
    sql`SELECT parent.relname AS parent, child.relname AS name
      FROM pg_inherits i
      JOIN pg_class parent ON parent.oid = i.inhparent
      JOIN pg_class child ON child.oid = i.inhrelid
      JOIN pg_namespace n ON n.oid = parent.relnamespace
      WHERE n.nspname = current_schema() AND parent.relname = ANY(${sql.param(PARTITIONED_TABLES)}::text[])
      ORDER BY child.relname`,
  );
  const out = Object.fromEntries(PARTITIONED_TABLES.map((t) => [t, [] as string[]])) as Record<
    PartitionedTable,
    string[]
  >;
  for (const r of rows) out[r.parent as PartitionedTable]?.push(r.name);
  return out;
}

// DDL takes no bind parameters; every name comes from PARTITIONED_TABLES or partitionName() and every bound
// from toISOString(), so quoting them here is safe.
const ident = (name: string) => sql.raw(`"${name.replace(/"/g, '""')}"`);
const literal = (value: string) => sql.raw(`'${value.replace(/'/g, "''")}'`);

async function applyCreate(
  db: SqlDatabase,
  a: Extract<PartitionAction, { kind: 'create' }>,
): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${MAINTENANCE_LOCK})`);
    const def = ident(`${a.table}_default`);
    const key = ident(PARTITION_KEYS[a.table]);
    const range = sql`${key} >= ${literal(a.from)}::timestamptz AND ${key} < ${literal(a.to)}::timestamptz`;
    const [stray] = await queryRows<{ n: number }>(
      tx,
      sql`SELECT count(*)::int AS n FROM ${def} WHERE ${range}`,
    );
    const moving = stray?.n ?? 0;
    if (moving > 0) {
      // Rows for this month landed in the default partition (the job had not run); Postgres refuses to create
      // the partition over them, so they move across unchanged within this transaction.
      await tx.execute(sql`SET LOCAL aiserve.audit_maintenance = 'move'`);
      await tx.execute(sql`CREATE TEMP TABLE aiserve_moving (LIKE ${ident(a.table)}) ON COMMIT DROP`);
      await tx.execute(
        sql`WITH moved AS (DELETE FROM ${def} WHERE ${range} RETURNING *) INSERT INTO aiserve_moving SELECT * FROM moved`,
      );
    }
    await tx.execute(
      sql`CREATE TABLE IF NOT EXISTS ${ident(a.name)} PARTITION OF ${ident(a.table)}
        FOR VALUES FROM (${literal(a.from)}) TO (${literal(a.to)})`,
    );
    if (moving > 0) await tx.execute(sql`INSERT INTO ${ident(a.table)} SELECT * FROM aiserve_moving`);
    return moving;
  });
}

async function applyDetach(db: SqlDatabase, a: Extract<PartitionAction, { kind: 'detach' }>): Promise<void> {
  if (a.table === 'audit_log') {
    // The chain's oldest remaining row will point at a row that is leaving; record that row's hash in the
    // chain itself so verifyAuditChain still accepts the start (and an attacker cannot fake it).
    const [last] = await queryRows<{ id: string; hash: string }>(
      db,
      sql`SELECT id::text AS id, hash FROM ${ident(a.name)} ORDER BY ${ident(a.name)}.id DESC LIMIT 1`,
    );
    if (last) {
      await appendAudit(db, {
        actor: 'partitions',
        action: AUDIT_ARCHIVED_ACTION,
        target: a.name,
        details: {
          table: a.table,
          mode: a.mode,
          from: a.from,
          to: a.to,
          lastId: last.id,
          lastHash: last.hash,
        },
      });
    }
  }
  await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${MAINTENANCE_LOCK})`);
    await tx.execute(sql`ALTER TABLE ${ident(a.table)} DETACH PARTITION ${ident(a.name)}`);
    if (a.mode === 'drop') {
      await tx.execute(sql`DROP TABLE ${ident(a.name)}`);
    } else {
      await tx.execute(sql`CREATE SCHEMA IF NOT EXISTS ${ident(ARCHIVE_SCHEMA)}`);
      await tx.execute(sql`ALTER TABLE ${ident(a.name)} SET SCHEMA ${ident(ARCHIVE_SCHEMA)}`);
      if (a.table === 'audit_log') {
        // DETACH drops the trigger cloned from the parent; archived audit rows stay append-only.
        await tx.execute(
          sql`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON ${ident(ARCHIVE_SCHEMA)}.${ident(a.name)}
            FOR EACH ROW EXECUTE FUNCTION audit_log_reject_change()`,
        );
      }
    }
  });
}

/**
 * Plans from the catalog and the clock, then (unless `dryRun`) applies each action in its own transaction,
 * so a failure leaves the earlier ones done and a rerun picks up where it stopped (every step is idempotent).
 */
export async function runPartitionMaintenance(
  db: SqlDatabase,
  config: PartitionsConfig,
  options: { now?: Date; dryRun?: boolean; logger?: Logger } = {},
): Promise<MaintenanceResult> {
  const actions = planPartitions({
    now: options.now ?? new Date(),
    monthsAhead: config.PARTITIONS_MONTHS_AHEAD,
    mode: config.PARTITIONS_RETENTION_MODE,
    existing: await listPartitions(db),
    policies: [
      { table: 'usage_events', retentionMonths: config.USAGE_RETENTION_MONTHS },
      // The rollups are kept as long as the rows they count (the totals the metrics serve are not partitioned).
      { table: 'usage_rollups', retentionMonths: config.USAGE_RETENTION_MONTHS },
      { table: 'audit_log', retentionMonths: config.AUDIT_RETENTION_MONTHS },
    ],
  });
  let movedRows = 0;
  if (!options.dryRun) {
    for (const action of actions) {
      if (action.kind === 'create') movedRows += await applyCreate(db, action);
      else await applyDetach(db, action);
      const done = action.kind === 'create' ? 'created' : action.mode === 'drop' ? 'dropped' : 'archived';
      options.logger?.info({ ...action }, `partition ${done}`);
    }
  }
  return { actions, movedRows, dryRun: options.dryRun ?? false };
}

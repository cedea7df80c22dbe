/**
 * The monthly-partitioned tables (custom migrations `*_usage_audit_partitions.sql`, `*_usage_rollups.sql`),
 * each with the column it is partitioned by.
 */
export const PARTITION_KEYS = { usage_events: 'ts', audit_log: 'ts', usage_rollups: 'minute' } as const;
export const PARTITIONED_TABLES = Object.keys(PARTITION_KEYS) as (keyof typeof PARTITION_KEYS)[];
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

type RetentionMode = 'archive' | 'drop';

export type PartitionAction =
  | { kind: 'create'; table: PartitionedTable; name: string; from: string; to: string }
  | { kind: 'detach'; table: PartitionedTable; name: string; from: string; to: string; mode: RetentionMode };

interface TablePolicy {
  table: PartitionedTable;
  /** Whole months kept before the current one; older monthly partitions are detached. 0 keeps everything. */
  retentionMonths: number;
}

export interface PlanInput {
  now: Date;
  /** Months to have ready after the current one. */
  monthsAhead: number;
  policies: TablePolicy[];
  /** Names of the partitions that exist now, per table (the default partition and odd names are ignored). */
  existing: Partial<Record<PartitionedTable, string[]>>;
  mode: RetentionMode;
}

/** Month index (years * 12 + month) of a UTC date. */
function monthIndex(d: Date): number {
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

function monthStartIso(index: number): string {
  return new Date(Date.UTC(Math.floor(index / 12), index % 12, 1)).toISOString();
}

/** `<table>_pYYYYMM`, the naming the migration and this job share. */
export function partitionName(table: PartitionedTable, index: number): string {
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return `${table}_p${String(year).padStart(4, '0')}${String(month).padStart(2, '0')}`;
}

/** The month index a partition name stands for, or null when it is not one of ours. */
export function parsePartitionName(table: PartitionedTable, name: string): number | null {
  const m = new RegExp(`^${table}_p(\\d{4})(\\d{2})$`).exec(name);
  if (!m) return null;
  const month = Number(m[2]);
  if (month < 1 || month > 12) return null;
  return Number(m[1]) * 12 + month - 1;
}

/**
 * What partition maintenance should do now: create every missing month from the current one to `monthsAhead`
 * after it, and detach (archive or drop) every monthly partition older than the retention window. Pure, so
 * the calendar edge cases (year ends, retention 0, odd names) are unit-tested without a database.
 * Creates come first, oldest month first; detaches oldest first.
 */
export function planPartitions(input: PlanInput): PartitionAction[] {
  const current = monthIndex(input.now);
  const actions: PartitionAction[] = [];
  const detaches: PartitionAction[] = [];
  for (const { table, retentionMonths } of input.policies) {
    const existing = new Set(
      (input.existing[table] ?? [])
        .map((n) => parsePartitionName(table, n))
        .filter((i): i is number => i !== null),
    );
    for (let i = current; i <= current + input.monthsAhead; i += 1) {
      if (!existing.has(i)) {
        actions.push({
          kind: 'create',
          table,
          name: partitionName(table, i),
          from: monthStartIso(i),
          to: monthStartIso(i + 1),
        });
      }
    }
    if (retentionMonths > 0) {
      const oldestKept = current - retentionMonths;
      for (const i of [...existing].sort((a, b) => a - b)) {
        if (i < oldestKept) {
          detaches.push({
            kind: 'detach',
            table,
            name: partitionName(table, i),
            from: monthStartIso(i),
            to: monthStartIso(i + 1),
            mode: input.mode,
          });
        }
      }
    }
  }
  return [...actions, ...detaches];
}

import { bigserial, index, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Append-only, hash-chained record of administrative actions (queries in drizzle/queries/audit.ts).
 *
 * PARTITIONED BY RANGE (ts) monthly with a DEFAULT partition, created by the custom migration
 * `*_usage_audit_partitions.sql` (drizzle-kit cannot express partitioning) and left out of
 * `drizzle.config.ts`. `id` is a bigserial rather than an identity column because PostgreSQL 15 does not
 * allow identity columns on partitioned tables.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).notNull(),
    ts: timestamp('ts', { withTimezone: true }).notNull().defaultNow(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    target: text('target').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    // Partition key in the primary key (PostgreSQL requires it); ids are still unique through the sequence.
    primaryKey({ name: 'audit_log_pkey', columns: [t.id, t.ts] }),
    // "What happened to this key/model/instance", newest first.
    index('audit_log_target_ts_idx').on(t.target, t.ts.desc()),
  ],
);

export type AuditRow = typeof auditLog.$inferSelect;

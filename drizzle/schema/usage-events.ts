import { sql } from 'drizzle-orm';
import { index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * One row per edge request, written in batches by the usage drain.
 *
 * PARTITIONED BY RANGE (ts), one partition per month plus a DEFAULT partition, so retention drops whole
 * months and no insert ever fails for want of a partition. drizzle-kit cannot express partitioning, so this
 * table is created by the custom migration `*_usage_audit_partitions.sql` and is left out of
 * `drizzle.config.ts`; the definition here is for typed queries and must match that SQL.
 */
export const usageEvents = pgTable(
  'usage_events',
  {
    // The producer's uuid: the idempotency key (ON CONFLICT DO NOTHING) across drain retries.
    eventId: uuid('event_id').notNull(),
    ts: timestamp('ts', { withTimezone: true }).notNull(),
    // NULL: an answer to a request without a valid key (401, 403 for a disabled tenant, 429 per IP), kept so
    // the rollups count it; every tenant report filters on tenant_id (migration `*_usage_rollups.sql`).
    tenantId: uuid('tenant_id'),
    keyId: uuid('key_id'),
    model: text('model'),
    version: text('version'),
    route: text('route').notNull(),
    status: integer('status').notNull(),
    latencyMs: integer('latency_ms').notNull(),
    cache: text('cache', { enum: ['HIT-EDGE', 'HIT-REDIS', 'MISS', 'BYPASS', 'NONE'] }).notNull(),
    items: integer('items').notNull().default(1),
    requestId: text('request_id').notNull(),
    originId: text('origin_id'),
    // Milliseconds the request waited on the origin, retries included; NULL when no origin was asked.
    originMs: integer('origin_ms'),
  },
  (t) => [
    // A partitioned table's unique key must include the partition key; events carry their ts, so a retried
    // event lands on the same (event_id, ts).
    primaryKey({ name: 'usage_events_pkey', columns: [t.eventId, t.ts] }),
    // Usage listings and reports by tenant over a time range, newest first. Covering: the SQL adds
    // INCLUDE (model, status, latency_ms, cache, items), which drizzle cannot express, so reports are
    // answered by index-only scans.
    index('usage_events_tenant_ts_idx').on(t.tenantId, t.ts.desc()),
    // Per-key usage (is this key still used before I revoke it?); anonymous traffic has no key.
    index('usage_events_key_ts_idx').on(t.keyId, t.ts.desc()).where(sql`${t.keyId} IS NOT NULL`),
  ],
);

export type UsageEventRow = typeof usageEvents.$inferSelect;
export type NewUsageEventRow = typeof usageEvents.$inferInsert;

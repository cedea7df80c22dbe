import { bigint, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';

/**
 * Upper bounds (milliseconds, inclusive) of the latency histograms in the rollups, for the edge's total time
 * and the time spent waiting on the origin. The `*_le` arrays hold one cumulative count per bound, in this
 * order; +Inf is `requests` (or `originCount`). Fixed: the arrays in stored rows follow them, so changing
 * them needs a migration that rewrites the arrays (and the backfill in `*_usage_rollups.sql`).
 */
export const ROLLUP_LATENCY_BUCKETS_MS = [
  1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
] as const;

/**
 * The model `usage_rollup_totals` records for a model name that has never had a 2xx answer (a name a client
 * made up, typically): such names are folded into this one row per label set instead of one each. The
 * repository would accept a directory of that name, but nothing ships one; a model so named would share the row.
 */
export const ROLLUP_OTHER_MODEL = '(other)';

/**
 * The columns both rollup tables carry (fresh builders per table) for one label set (tenant, model, status class, cache result). A NULL
 * tenant is a request answered without a valid key (401, 403 for a disabled tenant, 429 per IP); a NULL model
 * is a request that named none.
 */
const counts = () => ({
  tenantId: uuid('tenant_id'),
  model: text('model'),
  /** `2xx`, `4xx`, …: the status divided by 100. */
  statusClass: text('status_class').notNull(),
  cache: text('cache', { enum: ['HIT-EDGE', 'HIT-REDIS', 'MISS', 'BYPASS', 'NONE'] }).notNull(),
  requests: bigint('requests', { mode: 'number' }).notNull(),
  items: bigint('items', { mode: 'number' }).notNull(),
  /** Answers with status 429. */
  rateLimited: bigint('rate_limited', { mode: 'number' }).notNull(),
  /** Answers with status 401 or 403. */
  authFailures: bigint('auth_failures', { mode: 'number' }).notNull(),
  edgeMsSum: bigint('edge_ms_sum', { mode: 'number' }).notNull(),
  edgeLe: bigint('edge_le', { mode: 'number' }).array().notNull(),
  /** Requests that waited on an origin (those with an `origin_ms`). */
  originCount: bigint('origin_count', { mode: 'number' }).notNull(),
  originMsSum: bigint('origin_ms_sum', { mode: 'number' }).notNull(),
  originLe: bigint('origin_le', { mode: 'number' }).array().notNull(),
});

/**
 * Per-minute rollups of the usage rows, written in the same statement as the rows themselves (so only rows
 * that were newly inserted are counted: a redelivered event adds nothing). PARTITIONED BY RANGE (minute), by
 * month, like usage_events, with its retention; created by the custom migration `*_usage_rollups.sql` and
 * left out of `drizzle.config.ts`. The definition here must match that SQL.
 */
export const usageRollups = pgTable(
  'usage_rollups',
  {
    /** Start of the minute (UTC) the events' `ts` fall in. */
    minute: timestamp('minute', { withTimezone: true }).notNull(),
    ...counts(),
  },
  (t) => [
    unique('usage_rollups_key').on(t.minute, t.tenantId, t.model, t.statusClass, t.cache).nullsNotDistinct(),
  ],
);

/**
 * The same counts without the minute, since the rollups began: what `GET /admin/v1/metrics` serves as
 * Prometheus counters (never lowered by retention, so `rate()` sees no false reset). Not partitioned. A model
 * that has never answered a 2xx is counted as ROLLUP_OTHER_MODEL here (the per-minute rows keep its name).
 */
export const usageRollupTotals = pgTable(
  'usage_rollup_totals',
  {
    ...counts(),
    /** The newest event counted. */
    newestTs: timestamp('newest_ts', { withTimezone: true }).notNull(),
  },
  (t) => [
    unique('usage_rollup_totals_key').on(t.tenantId, t.model, t.statusClass, t.cache).nullsNotDistinct(),
  ],
);

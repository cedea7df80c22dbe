import { sql } from 'drizzle-orm';
import { queryRows, type SqlExecutor } from '../client/executor.ts';

/** One label set's running totals (`usage_rollup_totals`), since the rollups began. */
export interface RollupTotals {
  /** Null: answers to requests without a valid key (401, 403 for a disabled tenant, 429 per IP). */
  tenantId: string | null;
  model: string | null;
  /** `2xx`, `4xx`, … */
  statusClass: string;
  cache: string;
  requests: number;
  items: number;
  rateLimited: number;
  authFailures: number;
  edgeMsSum: number;
  /** Cumulative counts per ROLLUP_LATENCY_BUCKETS_MS bound. */
  edgeLe: number[];
  originCount: number;
  originMsSum: number;
  originLe: number[];
  /** Epoch ms of the newest event counted. */
  newestTs: number;
}

/**
 * Every label set's totals, or one tenant's only (`tenantId`: what a tenant's admin key may see). A handful
 * of rows per tenant: the metrics endpoint reads this on every scrape. Casts keep the values numbers on every
 * driver (bigint would come back as strings).
 */
export async function readRollupTotals(
  db: SqlExecutor,
  filter: { tenantId?: string } = {},
): Promise<RollupTotals[]> {
  const where = filter.tenantId === undefined ? sql`` : sql`WHERE tenant_id = ${filter.tenantId}::uuid`;
  return queryRows<RollupTotals>(
    db,
    sql`SELECT tenant_id::text AS "tenantId", model, status_class AS "statusClass", cache,
      requests::float8 AS requests, items::float8 AS items, rate_limited::float8 AS "rateLimited",
      auth_failures::float8 AS "authFailures", edge_ms_sum::float8 AS "edgeMsSum", edge_le::float8[] AS "edgeLe",
      origin_count::float8 AS "originCount", origin_ms_sum::float8 AS "originMsSum",
      origin_le::float8[] AS "originLe", (extract(epoch FROM newest_ts) * 1000)::float8 AS "newestTs"
    FROM usage_rollup_totals ${where}
    ORDER BY tenant_id NULLS FIRST, model NULLS FIRST, status_class, cache`,
  );
}

import { type SQL, sql } from 'drizzle-orm';
import { AppError } from '../../shared/errors/app-error.ts';
import { queryRows, type SqlExecutor } from '../client/executor.ts';

export interface UsageRange {
  tenantId: string;
  /** Inclusive lower bound. */
  from: Date;
  /** Exclusive upper bound. */
  to: Date;
}

export interface UsageAggregate {
  requests: number;
  items: number;
  /** HIT-EDGE + HIT-REDIS. */
  cacheHits: number;
  /** Hits over cache lookups (hits + misses); BYPASS and NONE are not lookups. Null when there were none. */
  cacheHitRatio: number | null;
  /** Responses with status 400–499 (bad input, auth, limits). */
  clientErrors: number;
  /** Responses with status 500–599. */
  serverErrors: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
}

export interface UsageReport {
  tenantId: string;
  from: string;
  to: string;
  totals: UsageAggregate;
  /** One line per model, most requests first; requests without a model (health, metadata) under `null`. */
  byModel: (UsageAggregate & { model: string | null })[];
}

const AGGREGATES = sql`count(*)::int AS requests,
  coalesce(sum(items), 0)::int AS items,
  (count(*) FILTER (WHERE cache IN ('HIT-EDGE', 'HIT-REDIS')))::int AS cache_hits,
  (count(*) FILTER (WHERE cache IN ('HIT-EDGE', 'HIT-REDIS', 'MISS')))::int AS cache_lookups,
  (count(*) FILTER (WHERE status BETWEEN 400 AND 499))::int AS client_errors,
  (count(*) FILTER (WHERE status >= 500))::int AS server_errors,
  (percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms))::float8 AS p50,
  (percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms))::float8 AS p95`;

type AggregateRow = {
  requests: number;
  items: number;
  cache_hits: number;
  cache_lookups: number;
  client_errors: number;
  server_errors: number;
  p50: number | null;
  p95: number | null;
};

function toAggregate(r: AggregateRow | undefined): UsageAggregate {
  const row = r ?? {
    requests: 0,
    items: 0,
    cache_hits: 0,
    cache_lookups: 0,
    client_errors: 0,
    server_errors: 0,
    p50: null,
    p95: null,
  };
  return {
    requests: row.requests,
    items: row.items,
    cacheHits: row.cache_hits,
    cacheHitRatio: row.cache_lookups > 0 ? row.cache_hits / row.cache_lookups : null,
    clientErrors: row.client_errors,
    serverErrors: row.server_errors,
    p50LatencyMs: row.p50 === null ? null : Number(row.p50),
    p95LatencyMs: row.p95 === null ? null : Number(row.p95),
  };
}

function checkRange(range: UsageRange): void {
  if (Number.isNaN(range.from.getTime()) || Number.isNaN(range.to.getTime())) {
    throw new AppError('INVALID_REQUEST', 'from and to must be valid ISO 8601 times');
  }
  if (range.from.getTime() >= range.to.getTime()) {
    throw new AppError(
      'INVALID_REQUEST',
      `from (${range.from.toISOString()}) must be before to (${range.to.toISOString()})`,
    );
  }
}

const inRange = (range: UsageRange): SQL =>
  sql`tenant_id = ${range.tenantId}::uuid AND ts >= ${range.from.toISOString()}::timestamptz AND ts < ${range.to.toISOString()}::timestamptz`;

/**
 * Totals and per-model aggregates for one tenant over [from, to). Served by usage_events_tenant_ts_idx
 * (tenant, ts DESC) INCLUDE (model, status, latency_ms, cache, items) and partition pruning on ts.
 */
export async function usageReport(db: SqlExecutor, range: UsageRange): Promise<UsageReport> {
  checkRange(range);
  const [totals] = await queryRows<AggregateRow>(
    db,
    sql`SELECT ${AGGREGATES} FROM usage_events WHERE ${inRange(range)}`,
  );
  const byModel = await queryRows<AggregateRow & { model: string | null }>(
    db,
    sql`SELECT model, ${AGGREGATES} FROM usage_events WHERE ${inRange(range)} GROUP BY model
      ORDER BY requests DESC, model NULLS LAST`,
  );
  return {
    tenantId: range.tenantId,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    totals: toAggregate(totals),
    byModel: byModel.map((r) => ({ model: r.model, ...toAggregate(r) })),
  };
}

interface UsageEventRecord {
  eventId: string;
  ts: string;
  keyId: string | null;
  model: string | null;
  version: string | null;
  route: string;
  status: number;
  latencyMs: number;
  cache: string;
  items: number;
  requestId: string;
  originId: string | null;
}

export interface UsagePage {
  events: UsageEventRecord[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** Opaque keyset cursor: the last row's (ts, event_id), so pages stay stable while new events arrive. */
function encodeUsageCursor(ts: string, eventId: string): string {
  // btoa, not Buffer: the edge's admin API runs this in Workers. The text is ASCII.
  return btoa(`${ts}|${eventId}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeUsageCursor(cursor: string): { ts: string; eventId: string } {
  let text = '';
  try {
    text = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    // Not base64: reported below like any other foreign cursor.
  }
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)\|([0-9a-f-]{36})$/.exec(text);
  if (!m) throw new AppError('INVALID_REQUEST', 'cursor is not one this API returned');
  return { ts: m[1]!, eventId: m[2]! };
}

/** A tenant's events in [from, to), newest first, `limit` (1–1000) at a time. */
export async function listUsageEvents(
  db: SqlExecutor,
  range: UsageRange & { limit?: number; cursor?: string | null },
): Promise<UsagePage> {
  checkRange(range);
  const limit = range.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new AppError('INVALID_REQUEST', `limit must be an integer from 1 to 1000 (got ${limit})`);
  }
  const after = range.cursor ? decodeUsageCursor(range.cursor) : null;
  const keyset = after ? sql`AND (ts, event_id) < (${after.ts}::timestamptz, ${after.eventId}::uuid)` : sql``;
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`SELECT event_id::text, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts_iso, key_id::text,
        model, version, route, status, latency_ms, cache, items, request_id, origin_id
      FROM usage_events WHERE ${inRange(range)} ${keyset}
      ORDER BY usage_events.ts DESC, usage_events.event_id DESC LIMIT ${limit + 1}`,
  );
  const events = rows.slice(0, limit).map((r) => ({
    eventId: r['event_id'] as string,
    ts: r['ts_iso'] as string,
    keyId: r['key_id'] as string | null,
    model: r['model'] as string | null,
    version: r['version'] as string | null,
    route: r['route'] as string,
    status: Number(r['status']),
    latencyMs: Number(r['latency_ms']),
    cache: r['cache'] as string,
    items: Number(r['items']),
    requestId: r['request_id'] as string,
    originId: r['origin_id'] as string | null,
  }));
  const last = events[events.length - 1];
  return {
    events,
    nextCursor: rows.length > limit && last ? encodeUsageCursor(last.ts, last.eventId) : null,
  };
}

import { sql } from 'drizzle-orm';
import type { UsageEvent } from '../../shared/usage/event.ts';
import { queryRows, type SqlExecutor } from '../client/executor.ts';
import { ROLLUP_LATENCY_BUCKETS_MS, ROLLUP_OTHER_MODEL } from '../schema/usage-rollups.ts';

const COUNT_COLUMNS = `requests, items, rate_limited, auth_failures, edge_ms_sum, edge_le, origin_count,
  origin_ms_sum, origin_le`;

/** One cumulative count per bucket bound, `<=` as Prometheus' `le`; the values are whole milliseconds. */
const cumulative = (column: string) =>
  `ARRAY[${ROLLUP_LATENCY_BUCKETS_MS.map((b) => `count(*) FILTER (WHERE ${column} <= ${b})`).join(', ')}]::bigint[]`;

/** The counts of one group of inserted rows, named as COUNT_COLUMNS. */
const COUNTS = `count(*) AS requests, coalesce(sum(items), 0) AS items,
  count(*) FILTER (WHERE status = 429) AS rate_limited,
  count(*) FILTER (WHERE status IN (401, 403)) AS auth_failures, coalesce(sum(latency_ms), 0) AS edge_ms_sum,
  ${cumulative('latency_ms')} AS edge_le, count(origin_ms) AS origin_count,
  coalesce(sum(origin_ms), 0) AS origin_ms_sum, ${cumulative('origin_ms')} AS origin_le`;

const addArrays = (column: string) =>
  `ARRAY[${ROLLUP_LATENCY_BUCKETS_MS.map((_, i) => `t.${column}[${i + 1}] + excluded.${column}[${i + 1}]`).join(', ')}]`;

/** An existing row gains the new counts. */
const ADD_COUNTS = `requests = t.requests + excluded.requests, items = t.items + excluded.items,
  rate_limited = t.rate_limited + excluded.rate_limited, auth_failures = t.auth_failures + excluded.auth_failures,
  edge_ms_sum = t.edge_ms_sum + excluded.edge_ms_sum, edge_le = ${addArrays('edge_le')},
  origin_count = t.origin_count + excluded.origin_count, origin_ms_sum = t.origin_ms_sum + excluded.origin_ms_sum,
  origin_le = ${addArrays('origin_le')}`;

const LABELS = 'tenant_id, model, status_class, cache';

// Built once: the statement text is the same for every batch. The inserted rows are aggregated once, per
// minute and label set (`grouped`); the totals sum those few groups rather than the rows again. ORDER BY the
// key so that two writers upserting the same rows take their locks in the same order (no deadlock between two
// drains).
const GROUPED = sql.raw(`SELECT date_trunc('minute', ts, 'UTC') AS minute, tenant_id, model,
    (status / 100)::text || 'xx' AS status_class, cache, ${COUNTS}, max(ts) AS newest_ts
  FROM inserted GROUP BY 1, 2, 3, 4, 5`);

const ROLLUP_PER_MINUTE = sql.raw(`INSERT INTO usage_rollups AS t (minute, ${LABELS}, ${COUNT_COLUMNS})
  SELECT minute, ${LABELS}, ${COUNT_COLUMNS} FROM grouped ORDER BY minute, ${LABELS}
  ON CONFLICT (minute, ${LABELS}) DO UPDATE SET ${ADD_COUNTS}`);

// The totals keep a model's name once it has answered a 2xx (in this statement or before); until then its rows
// count under ROLLUP_OTHER_MODEL, so names a client makes up (each a 404 or a 503) cannot add rows here and
// series to every scrape without bound. The per-minute rows keep the name as the request gave it.
const TOTALS_MODEL = `CASE WHEN model IS NULL
    OR model IN (SELECT model FROM grouped WHERE status_class = '2xx')
    OR model IN (SELECT model FROM usage_rollup_totals WHERE status_class = '2xx' AND model IS NOT NULL)
  THEN model ELSE '${ROLLUP_OTHER_MODEL}' END`;

const sumArrays = (column: string) =>
  `ARRAY[${ROLLUP_LATENCY_BUCKETS_MS.map((_, i) => `sum(${column}[${i + 1}])`).join(', ')}]::bigint[]`;

const ROLLUP_TOTALS = sql.raw(`INSERT INTO usage_rollup_totals AS t (${LABELS}, ${COUNT_COLUMNS}, newest_ts)
  SELECT tenant_id, ${TOTALS_MODEL}, status_class, cache, sum(requests), sum(items), sum(rate_limited),
    sum(auth_failures), sum(edge_ms_sum), ${sumArrays('edge_le')}, sum(origin_count), sum(origin_ms_sum),
    ${sumArrays('origin_le')}, max(newest_ts)
  FROM grouped GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (${LABELS}) DO UPDATE SET ${ADD_COUNTS}, newest_ts = greatest(t.newest_ts, excluded.newest_ts)`);

/**
 * Writes events with ONE statement; an event already stored (same event id and ts) is skipped, which is what
 * makes redelivery after a crash harmless. Returns how many rows were new.
 *
 * The same statement counts the rows it inserted, and only those (its RETURNING list, not the input), into
 * the per-minute rollups and the running totals (`usage_rollups`, `usage_rollup_totals`): one statement is
 * atomic, so a row is in both or in neither, inside a caller's transaction or not, and a redelivered event,
 * which inserts nothing, counts nothing. Every writer of usage rows (the drain, the edge's buffered sink
 * without Redis) goes through here, so the rollups see every row.
 *
 * One array parameter per column through `unnest`, not a VALUES row per event: the statement text is the same
 * for every batch size, so building it costs nothing per event (drizzle's SQL builder per VALUES row showed in
 * the edge's hit-path profile, whose usage sink inserts directly when there is no Redis) and Postgres parses 14
 * parameters instead of 14 per event. latency_ms and origin_ms are stored, and bucketed, in whole
 * milliseconds.
 */
export async function insertUsageEvents(db: SqlExecutor, events: readonly UsageEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const column = <T>(value: (e: UsageEvent) => T) => sql.param(events.map(value));
  const originMs = (e: UsageEvent) => (e.originMs == null ? null : Math.round(e.originMs));
  const [row] = await queryRows<{ n: number }>(
    db,
    sql`WITH inserted AS (
      INSERT INTO usage_events (event_id, ts, tenant_id, key_id, model, version, route, status, latency_ms, cache,
        items, request_id, origin_id, origin_ms)
      SELECT * FROM unnest(${column((e) => e.id)}::uuid[], ${column((e) => new Date(e.ts).toISOString())}::timestamptz[],
        ${column((e) => e.tenantId)}::uuid[], ${column((e) => e.keyId)}::uuid[], ${column((e) => e.model)}::text[],
        ${column((e) => e.version)}::text[], ${column((e) => e.route)}::text[], ${column((e) => e.status)}::int[],
        ${column((e) => Math.round(e.latencyMs))}::int[], ${column((e) => e.cache)}::text[],
        ${column((e) => e.items)}::int[], ${column((e) => e.requestId)}::text[], ${column((e) => e.originId)}::text[],
        ${column(originMs)}::int[])
      ON CONFLICT (event_id, ts) DO NOTHING
      RETURNING ts, tenant_id, model, status, latency_ms, origin_ms, cache, items
    ),
    grouped AS (${GROUPED}),
    per_minute AS (${ROLLUP_PER_MINUTE}),
    totals AS (${ROLLUP_TOTALS})
    SELECT count(*)::int AS n FROM inserted`,
  );
  return row?.n ?? 0;
}

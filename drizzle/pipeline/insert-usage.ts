import { sql } from 'drizzle-orm';
import type { UsageEvent } from '../../shared/usage/event.ts';
import { affectedRowCount, type SqlExecutor } from './sql.ts';

/**
 * Writes events with ONE statement; an event already stored (same event id and ts) is skipped, which is what
 * makes redelivery after a crash harmless. Returns how many rows were new.
 *
 * One array parameter per column through `unnest`, not a VALUES row per event: the statement text is the same
 * for every batch size, so building it costs nothing per event and Postgres parses 13 parameters instead of
 * 13 per event. The count comes from the command's row count, not a RETURNING list (about 15 % of the insert's
 * cost in Postgres). A VALUES list cost the edge about 0.1 ms of CPU per event (its usage sink inserts directly
 * when there is no Redis).
 */
export async function insertUsageEvents(db: SqlExecutor, events: readonly UsageEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const n = events.length;
  const ids = new Array<string>(n);
  const ts = new Array<string>(n);
  const tenants = new Array<string>(n);
  const keys = new Array<string | null>(n);
  const models = new Array<string | null>(n);
  const versions = new Array<string | null>(n);
  const routes = new Array<string>(n);
  const statuses = new Array<number>(n);
  // latency_ms is stored in whole milliseconds.
  const latencies = new Array<number>(n);
  const caches = new Array<string>(n);
  const items = new Array<number>(n);
  const requestIds = new Array<string>(n);
  const originIds = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    ids[i] = e.id;
    ts[i] = new Date(e.ts).toISOString();
    tenants[i] = e.tenantId;
    keys[i] = e.keyId;
    models[i] = e.model;
    versions[i] = e.version;
    routes[i] = e.route;
    statuses[i] = e.status;
    latencies[i] = Math.round(e.latencyMs);
    caches[i] = e.cache;
    items[i] = e.items;
    requestIds[i] = e.requestId;
    originIds[i] = e.originId;
  }
  const p = sql.param;
  return affectedRowCount(
    db,
    sql`INSERT INTO usage_events (event_id, ts, tenant_id, key_id, model, version, route, status, latency_ms, cache,
      items, request_id, origin_id)
    SELECT * FROM unnest(${p(ids)}::uuid[], ${p(ts)}::timestamptz[], ${p(tenants)}::uuid[], ${p(keys)}::uuid[],
      ${p(models)}::text[], ${p(versions)}::text[], ${p(routes)}::text[], ${p(statuses)}::int[],
      ${p(latencies)}::int[], ${p(caches)}::text[], ${p(items)}::int[], ${p(requestIds)}::text[],
      ${p(originIds)}::text[])
    ON CONFLICT (event_id, ts) DO NOTHING`,
  );
}

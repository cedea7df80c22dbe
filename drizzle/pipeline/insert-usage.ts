import { type SQL, sql } from 'drizzle-orm';
import type { UsageEvent } from '../../shared/usage/event.ts';
import { queryRows, type SqlExecutor } from './sql.ts';

// latency_ms is stored in whole milliseconds.
function valuesRow(e: UsageEvent): SQL {
  return sql`(${e.id}::uuid, ${new Date(e.ts).toISOString()}::timestamptz, ${e.tenantId}::uuid, ${e.keyId}::uuid,
    ${e.model}, ${e.version}, ${e.route}, ${e.status}::int, ${Math.round(e.latencyMs)}::int, ${e.cache},
    ${e.items}::int, ${e.requestId}, ${e.originId})`;
}

/**
 * Writes events with ONE multi-row INSERT; an event already stored (same event id and ts) is skipped, which is
 * what makes redelivery after a crash harmless. Returns how many rows were new.
 */
export async function insertUsageEvents(db: SqlExecutor, events: readonly UsageEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const rows = await queryRows<{ event_id: string }>(
    db,
    sql`INSERT INTO usage_events (event_id, ts, tenant_id, key_id, model, version, route, status, latency_ms, cache,
      items, request_id, origin_id)
    VALUES ${sql.join(events.map(valuesRow), sql`, `)}
    ON CONFLICT (event_id, ts) DO NOTHING
    RETURNING event_id::text`,
  );
  return rows.length;
}

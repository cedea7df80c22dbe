import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { queryRows, type SqlExecutor } from '../../../drizzle/client/executor.ts';
import type { Database } from '../../../drizzle/client/types.ts';
import { insertUsageEvents } from '../../../drizzle/pipeline/insert-usage.ts';
import type { UsageEvent } from '../../../shared/usage/event.ts';
import { type Backend, withMigratedDatabase } from '../../support/test-database.ts';
import { usageEvent } from '../../support/usage-fixtures.ts';

interface Row {
  event_id: string;
  ts: string;
  tenant_id: string;
  key_id: string | null;
  model: string | null;
  version: string | null;
  route: string;
  status: number;
  latency_ms: number;
  cache: string;
  items: number;
  request_id: string;
  origin_id: string | null;
}

async function stored(db: SqlExecutor, tenantId: string): Promise<Row[]> {
  return queryRows<Row>(
    db,
    sql`SELECT event_id::text, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts,
      tenant_id::text, key_id::text, model, version, route, status, latency_ms, cache, items, request_id,
      origin_id
    FROM usage_events WHERE tenant_id = ${tenantId}::uuid ORDER BY request_id`,
  );
}

/** Values that an array literal must quote or escape, and NULLs in every nullable column. */
function awkwardEvents(tenantId: string): UsageEvent[] {
  return [
    usageEvent({
      tenantId,
      keyId: randomUUID(),
      model: 'a "quoted", {braced} \\ back\\slashed model',
      version: 'NULL',
      route: 'POST /v2/models/:name/infer',
      latencyMs: 12.6,
      cache: 'HIT-EDGE',
      items: 32,
      requestId: 'req-1',
      originId: "o'neil,{x}",
      ts: Date.UTC(2026, 10, 25, 12, 0, 0, 123),
    }),
    usageEvent({
      tenantId,
      keyId: null,
      model: null,
      version: null,
      route: 'GET /v2/health/ready',
      latencyMs: 0.4,
      cache: 'NONE',
      items: 0,
      requestId: 'req-2 ünïcode ✓',
      originId: null,
    }),
  ];
}

function expectStored(rows: Row[], events: UsageEvent[]): void {
  expect(rows).toEqual(
    events.map((e) => ({
      event_id: e.id,
      ts: new Date(e.ts).toISOString(),
      tenant_id: e.tenantId,
      key_id: e.keyId,
      model: e.model,
      version: e.version,
      route: e.route,
      status: e.status,
      latency_ms: Math.round(e.latencyMs),
      cache: e.cache,
      items: e.items,
      request_id: e.requestId,
      origin_id: e.originId,
    })),
  );
}

describe.each<Backend>(['postgres', 'pglite'])('insertUsageEvents on %s', { timeout: 120_000 }, (backend) => {
  let db: Database;
  withMigratedDatabase(backend, (opened) => {
    db = opened;
  });

  it('stores every column exactly, including quotes, braces, backslashes, "NULL" and real NULLs', async () => {
    const tenantId = randomUUID();
    const events = awkwardEvents(tenantId);
    expect(await insertUsageEvents(db, events)).toBe(2);
    expect(await insertUsageEvents(db, events)).toBe(0);
    expectStored(await stored(db, tenantId), events);
  });

  it('skips events already stored and counts only the new ones', async () => {
    const tenantId = randomUUID();
    const first = Array.from({ length: 150 }, (_, i) => usageEvent({ tenantId, requestId: `r${1000 + i}` }));
    expect(await insertUsageEvents(db, first.slice(0, 100))).toBe(100);
    expect(await insertUsageEvents(db, first)).toBe(50);
    expect(await stored(db, tenantId)).toHaveLength(150);
  });
});

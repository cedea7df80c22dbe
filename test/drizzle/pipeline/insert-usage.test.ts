import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { queryRows, type SqlExecutor } from '../../../drizzle/client/executor.ts';
import type { Database } from '../../../drizzle/client/types.ts';
import { insertUsageEvents } from '../../../drizzle/pipeline/insert-usage.ts';
import { readRollupTotals } from '../../../drizzle/queries/usage-rollups.ts';
import { ROLLUP_LATENCY_BUCKETS_MS, ROLLUP_OTHER_MODEL } from '../../../drizzle/schema/usage-rollups.ts';
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

interface RollupRow {
  minute: number;
  tenant: string | null;
  model: string | null;
  statusClass: string;
  cache: string;
  requests: number;
  items: number;
  rateLimited: number;
  authFailures: number;
  edgeMsSum: number;
  edgeLe: number[];
  originCount: number;
  originMsSum: number;
  originLe: number[];
}

/** The per-minute rollups of a tenant's events, plus the tenant-less ones of a model only this test uses. */
async function rollups(db: SqlExecutor, tenantId: string, model: string): Promise<RollupRow[]> {
  return queryRows<RollupRow>(
    db,
    sql`SELECT (extract(epoch FROM minute) * 1000)::float8 AS minute, tenant_id::text AS tenant, model,
      status_class AS "statusClass", cache, requests::float8 AS requests, items::float8 AS items,
      rate_limited::float8 AS "rateLimited", auth_failures::float8 AS "authFailures",
      edge_ms_sum::float8 AS "edgeMsSum", edge_le::float8[] AS "edgeLe", origin_count::float8 AS "originCount",
      origin_ms_sum::float8 AS "originMsSum", origin_le::float8[] AS "originLe"
    FROM usage_rollups WHERE tenant_id = ${tenantId}::uuid OR (tenant_id IS NULL AND model = ${model})
    ORDER BY 1, tenant_id::text COLLATE "C" NULLS FIRST, model COLLATE "C", status_class COLLATE "C", cache COLLATE "C"`,
  );
}

/** What the rollups must hold for these events, computed here independently of the SQL. */
function expectedRollups(events: UsageEvent[]): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  const le = (ms: number | null) => ROLLUP_LATENCY_BUCKETS_MS.map((b) => (ms !== null && ms <= b ? 1 : 0));
  for (const e of events) {
    const minute = Math.floor(e.ts / 60_000) * 60_000;
    const statusClass = `${Math.floor(e.status / 100)}xx`;
    const key = JSON.stringify([minute, e.tenantId, e.model, statusClass, e.cache]);
    const edge = Math.round(e.latencyMs);
    const origin = e.originMs == null ? null : Math.round(e.originMs);
    const r = rows.get(key) ?? {
      minute,
      tenant: e.tenantId,
      model: e.model,
      statusClass,
      cache: e.cache,
      requests: 0,
      items: 0,
      rateLimited: 0,
      authFailures: 0,
      edgeMsSum: 0,
      edgeLe: le(null),
      originCount: 0,
      originMsSum: 0,
      originLe: le(null),
    };
    r.requests += 1;
    r.items += e.items;
    r.rateLimited += e.status === 429 ? 1 : 0;
    r.authFailures += e.status === 401 || e.status === 403 ? 1 : 0;
    r.edgeMsSum += edge;
    r.edgeLe = r.edgeLe.map((n, i) => n + le(edge)[i]!);
    if (origin !== null) {
      r.originCount += 1;
      r.originMsSum += origin;
      r.originLe = r.originLe.map((n, i) => n + le(origin)[i]!);
    }
    rows.set(key, r);
  }
  // As the query orders them: a NULL tenant first (' ' sorts before any uuid digit), text in byte order.
  const order = (r: RollupRow) =>
    [r.minute, r.tenant ?? ' ', r.model ?? ' ', r.statusClass, r.cache].join('|');
  return [...rows.values()].sort((a, b) => (order(a) < order(b) ? -1 : 1));
}

/** Two minutes, every status class the rollups single out, origin time present and absent, one tenant-less 401. */
function mixedEvents(tenantId: string, model: string): UsageEvent[] {
  const t0 = Date.UTC(2026, 10, 25, 12, 0, 30);
  return [
    usageEvent({ tenantId, model, ts: t0, latencyMs: 0.6, originMs: null, cache: 'HIT-EDGE', items: 4 }),
    usageEvent({ tenantId, model, ts: t0 + 1, latencyMs: 3.4, originMs: 2.6, cache: 'MISS', items: 2 }),
    usageEvent({ tenantId, model, ts: t0 + 2, latencyMs: 250, originMs: 240, cache: 'MISS' }),
    usageEvent({
      tenantId,
      model,
      ts: t0 + 3,
      latencyMs: 70_000,
      originMs: 65_000,
      cache: 'MISS',
      status: 504,
    }),
    usageEvent({ tenantId, model, ts: t0 + 4, latencyMs: 1, originMs: null, cache: 'NONE', status: 429 }),
    usageEvent({ tenantId, model, ts: t0 + 5, latencyMs: 2, originMs: null, cache: 'NONE', status: 403 }),
    usageEvent({ tenantId, model, ts: t0 + 40_000, latencyMs: 12, originMs: 9, cache: 'MISS' }),
    usageEvent({
      tenantId: null,
      keyId: null,
      model,
      ts: t0 + 40_001,
      latencyMs: 1,
      originMs: null,
      cache: 'NONE',
      status: 401,
      items: 0,
    }),
  ];
}

/** The backfill statements of the rollups migration, as they run at migration time. */
async function backfillStatements(): Promise<string[]> {
  const text = await readFile(
    new URL('../../../drizzle/migrations/0003_usage_rollups.sql', import.meta.url),
    'utf8',
  );
  const body = text.slice(text.indexOf('-- backfill:start'), text.indexOf('-- backfill:end'));
  return body
    .split('--> statement-breakpoint')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
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
  it('counts into the rollups exactly the rows it inserted: a repeated batch and a repeat inside one batch add nothing', async () => {
    const tenantId = randomUUID();
    const model = `rollup-${randomUUID()}`;
    const events = mixedEvents(tenantId, model);
    expect(await insertUsageEvents(db, events.slice(0, 3))).toBe(3);
    // Redelivered entries next to new ones, and one event twice in the same statement.
    expect(await insertUsageEvents(db, [...events, events[5]!])).toBe(events.length - 3);
    expect(await insertUsageEvents(db, events)).toBe(0);
    const expected = expectedRollups(events);
    expect(await rollups(db, tenantId, model)).toEqual(expected);
    // The running totals are the per-minute rows summed over the minutes.
    const totals = await readRollupTotals(db, { tenantId });
    const mine = expected.filter((r) => r.tenant === tenantId);
    expect(totals.map((t) => t.requests).reduce((a, b) => a + b, 0)).toBe(events.length - 1);
    for (const t of totals) {
      const same = mine.filter(
        (r) => r.model === t.model && r.statusClass === t.statusClass && r.cache === t.cache,
      );
      expect(t.requests).toBe(same.reduce((a, r) => a + r.requests, 0));
      expect(t.edgeLe).toEqual(
        ROLLUP_LATENCY_BUCKETS_MS.map((_, i) => same.reduce((a, r) => a + r.edgeLe[i]!, 0)),
      );
      expect(t.originMsSum).toBe(same.reduce((a, r) => a + r.originMsSum, 0));
    }
    expect(Math.max(...totals.map((t) => t.newestTs))).toBe(events[6]!.ts);
  });

  it("the migration's backfill computes the same rollups as the insert writes", async () => {
    const tenantId = randomUUID();
    const model = `backfill-${randomUUID()}`;
    // Plus a model that never answers, which the totals fold into (other) either way.
    const events = [
      ...mixedEvents(tenantId, model),
      usageEvent({ tenantId, model: `ghost-${randomUUID()}`, status: 503 }),
    ];
    await insertUsageEvents(db, events);
    const written = await rollups(db, tenantId, model);
    const writtenTotals = await readRollupTotals(db, { tenantId });
    const statements = await backfillStatements();
    expect(statements).toHaveLength(2);
    const rebuilt = await db
      .transaction(async (tx) => {
        await tx.execute(sql`DELETE FROM usage_rollups`);
        await tx.execute(sql`DELETE FROM usage_rollup_totals`);
        for (const statement of statements) await tx.execute(sql.raw(statement));
        const out = {
          rows: await rollups(tx, tenantId, model),
          totals: await readRollupTotals(tx, { tenantId }),
        };
        throw Object.assign(new Error('rollback'), { out });
      })
      .catch((err: Error & { out?: { rows: RollupRow[]; totals: unknown[] } }) => {
        if (!err.out) throw err;
        return err.out;
      });
    expect(rebuilt.rows).toEqual(written);
    expect(rebuilt.totals).toEqual(writtenTotals);
  });
  it('counts a model name that never answered 2xx as (other) in the totals, and keeps every name per minute', async () => {
    const tenantId = randomUUID();
    const ghost = `ghost-${randomUUID()}`;
    const real = `real-${randomUUID()}`;
    const late = `late-${randomUUID()}`;
    const at = (model: string, status: number) => usageEvent({ tenantId, model, status, cache: 'NONE' });
    await insertUsageEvents(db, [
      at(ghost, 503),
      at(ghost, 503),
      at(ghost, 404),
      at(real, 200),
      at(late, 503),
    ]);
    // Once a model has answered, its failures keep its name; one that answers later keeps it from then on.
    await insertUsageEvents(db, [at(real, 503), at(late, 200), at(late, 503)]);
    const totals = await readRollupTotals(db, { tenantId });
    const byModel = (model: string) =>
      Object.fromEntries(totals.filter((t) => t.model === model).map((t) => [t.statusClass, t.requests]));
    expect(byModel(ROLLUP_OTHER_MODEL)).toEqual({ '5xx': 3, '4xx': 1 });
    expect(byModel(ghost)).toEqual({});
    expect(byModel(real)).toEqual({ '2xx': 1, '5xx': 1 });
    expect(byModel(late)).toEqual({ '2xx': 1, '5xx': 1 });
    const minutes = await rollups(db, tenantId, ghost);
    expect(minutes.filter((r) => r.model === ghost).reduce((n, r) => n + r.requests, 0)).toBe(3);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUsageEvents } from '../../../drizzle/pipeline/insert-usage.ts';
import { decodeUsageCursor, listUsageEvents, usageReport } from '../../../drizzle/queries/usage.ts';
import type { UsageEvent } from '../../../shared/usage/event.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { usageEvent } from '../../support/usage-fixtures.ts';

let tdb: TestDatabase;
const tenantId = randomUUID();
const otherTenant = randomUUID();
const base = Date.UTC(2026, 10, 20, 10, 0, 0);
const from = new Date(base);
const to = new Date(base + 3_600_000);

beforeAll(async () => {
  tdb = await createTestDatabase();
  const events: UsageEvent[] = [];
  // mnist: 10 requests, latencies 10..100, 4 edge hits, 2 redis hits, 3 misses, 1 bypass, one 503, one 429.
  for (let i = 0; i < 10; i += 1) {
    events.push(
      usageEvent({
        tenantId,
        ts: base + i * 1000,
        model: 'mnist',
        latencyMs: (i + 1) * 10,
        items: 2,
        cache: i < 4 ? 'HIT-EDGE' : i < 6 ? 'HIT-REDIS' : i < 9 ? 'MISS' : 'BYPASS',
        status: i === 7 ? 503 : i === 8 ? 429 : 200,
      }),
    );
  }
  // resnet: 2 misses; a health request with no model; and rows outside the range or of another tenant.
  events.push(usageEvent({ tenantId, ts: base + 20_000, model: 'resnet', latencyMs: 200, cache: 'MISS' }));
  events.push(usageEvent({ tenantId, ts: base + 21_000, model: 'resnet', latencyMs: 300, cache: 'MISS' }));
  events.push(
    usageEvent({
      tenantId,
      ts: base + 22_000,
      model: null,
      version: null,
      route: '/v2/health/ready',
      cache: 'NONE',
    }),
  );
  events.push(usageEvent({ tenantId, ts: base - 1, model: 'mnist' }));
  events.push(usageEvent({ tenantId, ts: base + 3_600_000, model: 'mnist' }));
  events.push(usageEvent({ tenantId: otherTenant, ts: base + 5, model: 'mnist' }));
  await insertUsageEvents(tdb.db, events);
});

afterAll(async () => {
  await tdb.close();
});

describe('usageReport', () => {
  it('aggregates a tenant over [from, to): requests, items, cache hit ratio, errors, p50/p95, by model', async () => {
    const report = await usageReport(tdb.db, { tenantId, from, to });
    expect(report.totals).toMatchObject({
      requests: 13,
      items: 23,
      cacheHits: 6,
      cacheHitRatio: 6 / 11,
      clientErrors: 1,
      serverErrors: 1,
    });
    expect(report.byModel.map((m) => [m.model, m.requests])).toEqual([
      ['mnist', 10],
      ['resnet', 2],
      [null, 1],
    ]);
    const mnist = report.byModel[0]!;
    // percentile_cont over 10..100: p50 = 55, p95 = 95.5.
    expect(mnist.p50LatencyMs).toBe(55);
    expect(mnist.p95LatencyMs).toBeCloseTo(95.5, 6);
    expect(mnist.cacheHitRatio).toBe(6 / 9);
    expect(report.byModel[2]!.cacheHitRatio).toBeNull();
  });

  it('reports zeros and nulls for a range with no traffic', async () => {
    const report = await usageReport(tdb.db, {
      tenantId,
      from: new Date(base - 7_200_000),
      to: new Date(base - 3_600_000),
    });
    expect(report.totals).toEqual({
      requests: 0,
      items: 0,
      cacheHits: 0,
      cacheHitRatio: null,
      clientErrors: 0,
      serverErrors: 0,
      p50LatencyMs: null,
      p95LatencyMs: null,
    });
    expect(report.byModel).toEqual([]);
  });

  it('rejects an empty or inverted range with INVALID_REQUEST', async () => {
    await expect(usageReport(tdb.db, { tenantId, from: to, to: from })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(usageReport(tdb.db, { tenantId, from: new Date('nope'), to })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });
});

describe('listUsageEvents', () => {
  it('pages newest first with a keyset cursor, every event exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page += 1) {
      const result = await listUsageEvents(tdb.db, { tenantId, from, to, limit: 4, cursor });
      seen.push(...result.events.map((e) => e.ts));
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(13);
    expect(new Set(seen).size).toBe(13);
    expect([...seen].sort().reverse()).toEqual(seen);
  });

  it('rejects a cursor it did not issue and a limit out of range', async () => {
    expect(() => decodeUsageCursor('garbage!')).toThrow(/cursor/);
    await expect(listUsageEvents(tdb.db, { tenantId, from, to, cursor: 'Zm9vfGJhcg' })).rejects.toMatchObject(
      {
        code: 'INVALID_REQUEST',
      },
    );
    await expect(listUsageEvents(tdb.db, { tenantId, from, to, limit: 0 })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });
});

import { describe, expect, it } from 'vitest';
import { createStickyTracker } from '../../../drizzle/client/sticky.ts';
import {
  REFUSALS_AUDITED_PER_ADDRESS_PER_MINUTE,
  REFUSALS_AUDITED_PER_MINUTE,
  RefusalSampler,
} from '../../../workers/middleware/admin-audit/sampler.ts';
import type { DatabaseSource } from '../../../workers/stores/database/database-source.ts';
import { testEdge } from '../edge-fixture.ts';

const MINUTE = 60_000;

describe('RefusalSampler', () => {
  it('admits at most the per-address bound a minute, then counts what it left out on the next row', () => {
    let now = 10 * MINUTE;
    const sampler = new RefusalSampler({ now: () => now });
    const answers = Array.from({ length: 12 }, () => sampler.admit('203.0.113.1'));
    expect(answers.filter(Boolean)).toHaveLength(REFUSALS_AUDITED_PER_ADDRESS_PER_MINUTE);
    expect(answers.slice(0, REFUSALS_AUDITED_PER_ADDRESS_PER_MINUTE)).toEqual(
      Array(REFUSALS_AUDITED_PER_ADDRESS_PER_MINUTE).fill({ leftOut: 0 }),
    );
    expect(answers.slice(REFUSALS_AUDITED_PER_ADDRESS_PER_MINUTE).every((a) => a === null)).toBe(true);
    // Another address has its own allowance.
    expect(sampler.admit('203.0.113.2')).toEqual({ leftOut: 0 });
    now += MINUTE;
    expect(sampler.admit('203.0.113.1')).toEqual({ leftOut: 12 - REFUSALS_AUDITED_PER_ADDRESS_PER_MINUTE });
    expect(sampler.admit('203.0.113.1')).toEqual({ leftOut: 0 });
  });

  it('admits at most the overall bound a minute across any number of addresses', () => {
    let now = 0;
    const sampler = new RefusalSampler({ now: () => now });
    let admitted = 0;
    for (let i = 0; i < 1000; i += 1) if (sampler.admit(`10.0.${i >> 8}.${i & 255}`)) admitted += 1;
    expect(admitted).toBe(REFUSALS_AUDITED_PER_MINUTE);
    now += MINUTE;
    expect(sampler.admit('10.9.9.9')).toEqual({ leftOut: 0 });
  });

  it('remembers a bounded number of addresses', () => {
    const sampler = new RefusalSampler({
      now: () => 0,
      maxAddresses: 2,
      perMinute: 1000,
      perAddressPerMinute: 1,
    });
    sampler.admit('a');
    expect(sampler.admit('a')).toBeNull();
    sampler.admit('b');
    sampler.admit('c');
    // "a" was forgotten (its left-out count with it): the bound on memory wins over the count.
    expect(sampler.admit('a')).toEqual({ leftOut: 0 });
  });
});

describe('the admin refusal audit middleware', () => {
  function failingDatabase(): DatabaseSource & { uses: number } {
    const source = {
      uses: 0,
      sticky: createStickyTracker({ windowMs: 0 }),
      async use<T>(): Promise<T> {
        source.uses += 1;
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
      async close() {},
    };
    return source;
  }

  it('answers the 401 unchanged when Postgres is down, and counts the row it could not write', async () => {
    const database = failingDatabase();
    const edge = await testEdge({
      env: { ADMIN_TOKEN: 'operator-token-0123456789' },
      services: { database },
    });
    const res = await edge.app.request('/admin/v1/tenants', { headers: { 'cf-connecting-ip': '192.0.2.1' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    await edge.settle();
    expect(database.uses).toBe(1);
    expect(edge.services.metrics.snapshot()['edge_admin_refusals_unaudited_total']).toBe(1);
    expect(edge.logs.some((l) => l.includes('could not audit a refused admin request'))).toBe(true);
  });

  it('writes nothing for answers that are not refusals, nor for refusals past the bound', async () => {
    const database = failingDatabase();
    const edge = await testEdge({
      env: { ADMIN_TOKEN: 'operator-token-0123456789' },
      services: { database },
    });
    const ok = await edge.app.request('/admin/v1/metrics', {
      headers: { authorization: 'Bearer operator-token-0123456789' },
    });
    expect(ok.status).toBe(200);
    for (let i = 0; i < 8; i += 1) {
      await edge.app.request('/admin/v1/fleet', { headers: { 'cf-connecting-ip': '192.0.2.2' } });
    }
    await edge.settle();
    expect(database.uses).toBe(REFUSALS_AUDITED_PER_ADDRESS_PER_MINUTE);
    expect(edge.services.metrics.snapshot()['edge_admin_refusals_unaudited_total']).toBe(8);
  });
});

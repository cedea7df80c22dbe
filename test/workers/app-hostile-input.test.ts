import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom as rng } from '../../scripts/sim/rng.ts';
import {
  checkEdgeAnswer,
  crossesTenant,
  describeSent,
  type EdgeCredentials,
  fetchRefuses,
  randomEdgeRequest,
  type Sent,
} from '../support/hostile-edge-requests.ts';
import { type DbEdge, inferWith, operator, startDbEdge } from './db-fixture.ts';
import { type RedisFixture, startRedisFixture } from './redis-fixture.ts';

/**
 * R5 at the edge: seeded random requests over every route (test/support/hostile-edge-requests.ts) against the
 * edge as `buildEdge` wires it on a real Postgres and a stub origin. Every answer must be below 500 and every
 * error must be the edge's JSON error body; afterwards the edge still serves. FUZZ_SEED=<n> runs another
 * sequence (a failure message shows the request to replay).
 */

interface FuzzEdge {
  t: DbEdge;
  keys: EdgeCredentials;
}

async function startFuzzEdge(env: Record<string, string>): Promise<FuzzEdge> {
  // Limits high enough that the run explores the routes instead of meeting 429 after the first few refusals
  // (every request here comes from one address); the limits themselves are pinned in their own tests.
  const t = await startDbEdge({
    USAGE_BATCH_SIZE: '1',
    RATE_LIMIT_IP_PER_MINUTE: '100000',
    RATE_LIMIT_IP_BURST: '100000',
    ...env,
  });
  const created = await t.request('/admin/v1/tenants', {
    method: 'POST',
    headers: operator(),
    body: JSON.stringify({ name: 'fuzz-co', plan: 'enterprise', requestsPerMinute: 100000, burst: 100000 }),
  });
  expect(created.status).toBe(201);
  const key = async (tenant = 'fuzz-co', scopes?: string[]) => {
    const res = await t.request(`/admin/v1/tenants/${tenant}/keys`, {
      method: 'POST',
      headers: operator(),
      body: JSON.stringify({ name: 'fuzz', ...(scopes ? { scopes } : {}) }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { key: string; record: { prefix: string; tenantId: string } };
  };
  const tenant = (await key()).key;
  // Revoke and rotate calls aim at a key of their own, so the one the run authenticates with stays valid.
  const prefix = (await key()).record.prefix;
  const revoked = await key();
  const res = await t.request(`/admin/v1/tenants/fuzz-co/keys/${revoked.record.prefix}/revoke`, {
    method: 'POST',
    headers: operator(),
  });
  expect(res.status).toBe(200);
  // Another tenant for the tenant's own admin key to stay away from.
  const other = await t.request('/admin/v1/tenants', {
    method: 'POST',
    headers: operator(),
    body: JSON.stringify({ name: 'other-co' }),
  });
  expect(other.status).toBe(201);
  const otherKey = await key('other-co');
  const privateModel = await t.request('/admin/v1/models/other-private', {
    method: 'PATCH',
    headers: operator(),
    body: JSON.stringify({ visibility: 'private', ownerTenantId: otherKey.record.tenantId }),
  });
  expect(privateModel.status).toBe(200);
  const tenantAdmin = (await key('fuzz-co', ['admin', '*'])).key;
  return {
    t,
    keys: {
      tenant,
      revoked: revoked.key,
      prefix,
      operator: operator().authorization!,
      tenantAdmin,
      other: {
        name: 'other-co',
        id: otherKey.record.tenantId,
        prefix: otherKey.record.prefix,
        privateModel: 'other-private',
      },
    },
  };
}

/** Sends `count` seeded random requests; fails on the first 5xx or non-JSON error, naming the request. */
/**
 * Sends `count` seeded random requests, `concurrency` at a time (so coalescing, memos and caches also meet
 * overlapping hostile requests); fails on the first 5xx or non-JSON error, naming the request.
 */
async function fuzz({ t, keys }: FuzzEdge, count: number, concurrency = 1): Promise<void> {
  const r = rng(Number(process.env.FUZZ_SEED ?? 20261129));
  const statuses = new Map<number, number>();
  const one = async (i: number, sent: Sent) => {
    const res = await t.request(sent.path, {
      method: sent.method,
      headers: sent.headers,
      body: sent.body as BodyInit | undefined,
    });
    const where = `request ${i}: ${describeSent(sent)}`;
    // Tenant isolation of the admin API: the tenant's admin key never succeeds on the other tenant or its keys.
    if (crossesTenant(sent, keys) && res.status < 300) expect.fail(`${where} → ${res.status} across tenants`);
    const status = await checkEdgeAnswer(res, sent, where);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  };
  for (let i = 0; i < count; i += concurrency) {
    const wave: Array<Promise<void>> = [];
    for (let j = i; j < Math.min(count, i + concurrency); j++) {
      const sent = randomEdgeRequest(r, keys);
      // A header value fetch itself refuses never reaches a server.
      if (!fetchRefuses(sent)) wave.push(one(j, sent));
    }
    await Promise.all(wave);
  }
  await t.settle();
  // The run reached past the front door: successes, auth refusals, validation errors and unknown routes.
  for (const status of [200, 400, 401, 403, 404, 405, 415])
    expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
  expect((await t.request('/v2/models/ocr-cls/infer', inferWith(keys.tenant))).status).toBe(200);
  expect((await t.request('/admin/v1/tenants', { headers: operator() })).status).toBe(200);
}

describe('the edge under hostile input, in-memory stores', () => {
  let edge: FuzzEdge;
  beforeAll(async () => {
    edge = await startFuzzEdge({});
  }, 60_000);
  afterAll(async () => {
    await edge?.t.close();
  });

  it('answers 3,000 seeded random requests over every route below 500, errors as JSON, and keeps serving', async () => {
    await fuzz(edge, 3000);
  }, 120_000);

  it('answers 3,000 more, eight at a time, below 500: overlapping hostile requests', async () => {
    await fuzz(edge, 3000, 8);
  }, 120_000);
});

describe('the edge under hostile input, Redis stores through the Upstash bridge', () => {
  let edge: FuzzEdge;
  let redis: RedisFixture;
  beforeAll(async () => {
    // A logical database of its own: 1,500 usage events would crowd other suites' reads of the shared stream.
    redis = await startRedisFixture(`${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}/15`);
    edge = await startFuzzEdge(redis.env);
  }, 60_000);
  afterAll(async () => {
    await edge?.t.close();
    await redis?.close(['aiserve:*']);
  });

  it('answers 1,500 seeded random requests below 500 with Redis behind auth, limits and the cache', async () => {
    await fuzz(edge, 1500);
  }, 120_000);

  it('answers 1,500 more, eight at a time, below 500: overlapping hostile requests', async () => {
    await fuzz(edge, 1500, 8);
  }, 120_000);
});

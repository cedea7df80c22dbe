import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DbEdge, inferWith, operator, startDbEdge } from './db-fixture.ts';
import { inferBody } from './edge-fixture.ts';
import { type RedisFixture, startRedisFixture } from './redis-fixture.ts';

/**
 * R5 at the edge: seeded random requests over every route (public and admin), with hostile paths, query strings,
 * headers and bodies, against the edge as `buildEdge` wires it on a real Postgres and a stub origin. Every answer
 * must be below 500 and every error must be the edge's JSON error body; afterwards the edge still serves.
 * FUZZ_SEED=<n> runs another sequence (a failure message shows the request to replay).
 */

/** Deterministic PRNG (mulberry32) so a failure reproduces from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Pick = <T>(xs: readonly T[]) => T;

/** Route templates with the method each serves ('*' for paths that serve none). */
const ROUTES: ReadonlyArray<readonly [string, string]> = [
  ['/v2', 'GET'],
  ['/v2/health/live', 'GET'],
  ['/v2/health/ready', 'GET'],
  ['/v2/models/{m}', 'GET'],
  ['/v2/models/{m}/ready', 'GET'],
  ['/v2/models/{m}/versions/{v}', 'GET'],
  ['/v2/models/{m}/versions/{v}/ready', 'GET'],
  ['/v2/models/{m}/infer', 'POST'],
  ['/v2/models/{m}/infer', 'POST'],
  ['/v2/models/{m}/infer', 'POST'],
  ['/v2/models/{m}/versions/{v}/infer', 'POST'],
  ['/openapi.json', 'GET'],
  ['/docs', 'GET'],
  ['/admin/v1/tenants', 'POST'],
  ['/admin/v1/tenants', 'POST'],
  ['/admin/v1/tenants', 'GET'],
  ['/admin/v1/tenants/{t}/keys', 'POST'],
  ['/admin/v1/tenants/{t}/keys', 'POST'],
  ['/admin/v1/tenants/{t}/keys', 'GET'],
  ['/admin/v1/tenants/{t}/keys/{k}/revoke', 'POST'],
  ['/admin/v1/tenants/{t}/keys/{k}/rotate', 'POST'],
  ['/admin/v1/tenants/{t}/usage', 'GET'],
  ['/admin/v1/tenants/{t}/usage', 'GET'],
  ['/admin/v1/models', 'GET'],
  ['/admin/v1/models/{m}', 'PATCH'],
  ['/admin/v1/models/{m}', 'PATCH'],
  ['/admin/v1/fleet', 'GET'],
  ['/admin/v1/metrics', 'GET'],
  ['/{junk}', '*'],
  ['/v2/{junk}/{junk}', '*'],
  ['/admin/v1/{junk}', '*'],
];

const SEGMENTS = [
  '',
  '%00',
  '%E0%A4%A',
  '%2F',
  '..',
  '.',
  'a'.repeat(300),
  '%F0%9F%98%80',
  'x%20y',
  "'%20OR%201=1--",
  '-1',
  '0',
  '99999999999999999999',
  'null',
  '%25',
  'ocr-cls',
  'm',
  '00000000-0000-0000-0000-000000000000',
];

const QUERIES = [
  '',
  '',
  '?limit=-1',
  '?limit=abc',
  '?limit=100000',
  '?limit=1.5',
  '?from=yesterday',
  '?from=2026-13-45T00:00:00Z&to=x',
  '?from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z',
  '?cursor=%25%25%25',
  '?cursor=eyJ0IjoiYWJjIn0',
  '?cursor=AAAA',
  '?ready=maybe',
  '?a=1&a=2',
  '?limit=10&limit=20',
  '?%00=%00',
];

const FIELDS = [
  'name',
  'plan',
  'scopes',
  'expiresAt',
  'ttlSeconds',
  'cacheable',
  'shareable',
  'inputs',
  'datatype',
  'shape',
  'data',
  'parameters',
  'outputs',
  'requestsPerMinute',
  'burst',
  'id',
  'binary_data_size',
  'binary_data_output',
  'gracePeriodSeconds',
  'ready',
  '__proto__',
  'constructor',
];

function randomValue(r: () => number, pick: Pick, depth = 0): unknown {
  switch (Math.floor(r() * 13)) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return Math.floor(r() * 2000) - 1000;
    case 3:
      return (r() - 0.5) * 10 ** Math.floor(r() * 60 - 30);
    case 4:
      return pick([
        '',
        'free',
        'pro',
        'enterprise',
        'ocr-cls',
        '*',
        'FP32',
        'INT64',
        'BYTES',
        '2026-01-01T00:00:00Z',
      ]);
    case 5:
      return '\u0000"\\\u{1f600}\u202e';
    case 6:
      return 'x'.repeat(Math.floor(r() * 5000));
    case 7:
    case 8:
      return depth < 4
        ? Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, pick, depth + 1))
        : [];
    case 9:
    case 10:
      return depth < 4 ? randomObject(r, pick, depth + 1) : {};
    case 11:
      return 2 ** 64;
    default:
      return -0.5;
  }
}

function randomObject(r: () => number, pick: Pick, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) out[pick(FIELDS)] = randomValue(r, pick, depth);
  return out;
}

function randomBody(r: () => number, pick: Pick): string | Uint8Array | undefined {
  const valid = inferBody(1);
  switch (Math.floor(r() * 8)) {
    case 0:
      return undefined;
    case 1:
      return JSON.stringify(randomObject(r, pick, 0));
    case 2:
      return JSON.stringify(randomValue(r, pick));
    case 3:
      return valid.slice(0, Math.floor(r() * valid.length));
    case 4: {
      const bytes = new TextEncoder().encode(valid);
      for (let i = 0; i < 3; i++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
      return bytes;
    }
    case 5:
      return new Uint8Array(Math.floor(r() * 200)).map(() => Math.floor(r() * 256));
    case 6:
      return JSON.stringify({ name: `t-${Math.floor(r() * 1e6)}`, ...randomObject(r, pick, 0) });
    default:
      return valid;
  }
}

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
}

function randomRequest(r: () => number, keys: { tenant: string; revoked: string; prefix: string }): Sent {
  const pick: Pick = (xs) => xs[Math.floor(r() * xs.length)]!;
  const fill = (template: string) =>
    template.replace(/\{(\w+)\}/g, (_, slot: string) =>
      slot === 't' && r() < 0.7
        ? 'fuzz-co'
        : slot === 'm' && r() < 0.7
          ? 'ocr-cls'
          : slot === 'k' && r() < 0.6
            ? keys.prefix
            : pick(SEGMENTS),
    );
  const [template, served] = pick(ROUTES);
  const method =
    served !== '*' && r() < 0.75
      ? served
      : pick(['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS', 'HEAD']);
  const path = fill(template) + pick(QUERIES);
  const headers: Record<string, string> = {};
  // Mostly the credential the route wants, so most requests get past auth to the handler and its validation.
  const admin = path.startsWith('/admin/');
  const roll = r();
  const auth =
    roll < 0.7
      ? admin
        ? operator().authorization!
        : `Bearer ${keys.tenant}`
      : roll < 0.85
        ? admin
          ? `Bearer ${keys.tenant}`
          : operator().authorization!
        : pick([
            undefined,
            `Bearer ${keys.revoked}`,
            'Bearer',
            'Bearer  ',
            'Basic Zm9vOmJhcg==',
            'Bearer ais_live_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
            `Bearer ${'k'.repeat(5000)}`,
            `bearer ${keys.tenant}`,
          ]);
  if (auth !== undefined) headers.authorization = auth;
  const contentType = pick([
    undefined,
    'application/json',
    'application/json',
    'text/plain',
    'application/octet-stream',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
    'application/x-www-form-urlencoded',
    '*/*;;;',
  ]);
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (r() < 0.2)
    headers['cache-control'] = pick([
      'no-cache',
      'no-store',
      'max-age=abc',
      'only-if-cached',
      'no-cache, no-store',
    ]);
  if (r() < 0.2)
    headers['inference-header-content-length'] = pick([
      '-1',
      '0',
      '5',
      'abc',
      '1e3',
      '99999999999999',
      ' 12 ',
    ]);
  if (r() < 0.2) headers['x-request-id'] = pick(['', 'ok-id', 'x'.repeat(500), 'bad id\t!', '../../etc']);
  if (r() < 0.2)
    headers.traceparent = pick(['', '00-xyz', `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`, 'ff-'.repeat(20)]);
  if (r() < 0.1) headers['if-none-match'] = pick(['*', '"abc"', 'W/"x", "y"', '""', 'garbage']);
  if (r() < 0.1) headers.origin = pick(['https://evil.example', 'null', 'http://localhost:3000']);
  if (r() < 0.05) headers['content-length'] = pick(['-5', 'abc', '99999999999']);
  const body = method === 'GET' || method === 'HEAD' ? undefined : randomBody(r, pick);
  return { method, path, headers, body };
}

interface FuzzEdge {
  t: DbEdge;
  keys: { tenant: string; revoked: string; prefix: string };
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
  const key = async () => {
    const res = await t.request('/admin/v1/tenants/fuzz-co/keys', {
      method: 'POST',
      headers: operator(),
      body: JSON.stringify({ name: 'fuzz' }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { key: string; record: { prefix: string } };
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
  return { t, keys: { tenant, revoked: revoked.key, prefix } };
}

function describeSent(s: Sent): string {
  const body =
    s.body === undefined
      ? ''
      : typeof s.body === 'string'
        ? s.body.slice(0, 200)
        : `<${s.body.length} bytes>`;
  return `${s.method} ${s.path.slice(0, 200)} ${JSON.stringify(s.headers).slice(0, 300)} ${body}`;
}

/** Sends `count` seeded random requests; fails on the first 5xx or non-JSON error, naming the request. */
async function fuzz({ t, keys }: FuzzEdge, count: number): Promise<void> {
  const r = rng(Number(process.env.FUZZ_SEED ?? 20261129));
  const statuses = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const sent = randomRequest(r, keys);
    let init: RequestInit;
    try {
      init = { method: sent.method, headers: sent.headers, body: sent.body as BodyInit | undefined };
      new Request('http://edge.test/', init);
    } catch {
      // A header value fetch itself refuses never reaches a server: skip it.
      continue;
    }
    const res = await t.request(sent.path, init);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const where = `request ${i}: ${describeSent(sent)} → ${res.status}`;
    if (res.status >= 500) expect.fail(`${where}: ${await res.text()}`);
    if (res.status >= 400 && sent.method !== 'HEAD') {
      expect(res.headers.get('content-type'), where).toMatch(/^application\/json/);
      const body = (await res.json()) as { error?: unknown; code?: unknown };
      expect(typeof body.error, where).toBe('string');
      expect(typeof body.code, where).toBe('string');
    } else {
      await res.arrayBuffer();
    }
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
});

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ioredisUsageStream } from '../../../drizzle/pipeline/stream-ioredis.ts';
import { UsageDrain, type UsageDrainOptions } from '../../../drizzle/pipeline/usage-drain.ts';
import { isAppError } from '../../../shared/errors/app-error.ts';
import {
  createEmptyDatabase,
  createTestDatabase,
  databaseUrl,
  dropDatabase,
  migrateUrl,
  REDIS_TEST_URL,
  type TestDatabase,
  uniqueName,
} from '../../support/test-database.ts';
import { pendingCount, produce, usageEvent } from '../../support/usage-fixtures.ts';

const CHILD = fileURLToPath(new URL('./drain-child.ts', import.meta.url));

let tdb: TestDatabase;
let redis: Redis;
const streams: string[] = [];

function newStream(): string {
  const s = `aiserve_t:usage:${randomUUID()}`;
  streams.push(s, `${s}:dead`);
  return s;
}

function drainFor(stream: string, overrides: Partial<UsageDrainOptions> = {}): UsageDrain {
  return new UsageDrain({
    redis: ioredisUsageStream(redis),
    db: tdb.db,
    stream,
    deadLetterStream: `${stream}:dead`,
    group: 'usage-drain',
    consumer: 'in-process',
    batchSize: 50,
    blockMs: 0,
    claimIdleMs: 60_000,
    claimIntervalMs: 60_000,
    backoffMinMs: 10,
    backoffMaxMs: 100,
    deadLetterMaxLen: 1000,
    logger: pino({ level: 'silent' }),
    ...overrides,
  });
}

async function rowsFor(tenantId: string, pool = tdb.pool): Promise<number> {
  const r = await pool.query('SELECT count(*)::int AS n FROM usage_events WHERE tenant_id = $1', [tenantId]);
  return r.rows[0].n;
}

async function drainAll(drain: UsageDrain): Promise<void> {
  for (let i = 0; i < 100; i += 1) if ((await drain.runOnce()).entries === 0) return;
  throw new Error('drain did not empty the stream in 100 rounds');
}

function runChild(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, DATABASE_URL: tdb.url, REDIS_URL: REDIS_TEST_URL, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  redis = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: 2 });
});

afterAll(async () => {
  if (streams.length > 0) await redis.del(...streams);
  redis.disconnect();
  await tdb.close();
});

describe('usage drain', () => {
  it('writes every event once, acks it, and reports the batch', async () => {
    const stream = newStream();
    const tenantId = randomUUID();
    await produce(
      redis,
      stream,
      Array.from({ length: 120 }, () => usageEvent({ tenantId })),
    );
    const drain = drainFor(stream);
    const first = await drain.runOnce();
    expect(first).toMatchObject({ entries: 50, written: 50, duplicates: 0, deadLettered: 0 });
    await drainAll(drain);
    expect(await rowsFor(tenantId)).toBe(120);
    expect(await pendingCount(redis, stream)).toBe(0);
    expect(drain.stats()).toMatchObject({ entries: 120, written: 120, batches: 3 });
  });

  it('stores the fields of the event as sent', async () => {
    const stream = newStream();
    const e = usageEvent({
      tenantId: randomUUID(),
      keyId: randomUUID(),
      status: 429,
      cache: 'HIT-REDIS',
      items: 7,
      latencyMs: 3.6,
      originId: null,
      model: null,
      version: null,
    });
    await produce(redis, stream, [e]);
    await drainAll(drainFor(stream));
    const row = (
      await tdb.pool.query(
        `SELECT event_id::text, (extract(epoch from ts) * 1000)::bigint::text AS ts, key_id::text, model, version,
           route, status, latency_ms, cache, items, request_id, origin_id FROM usage_events WHERE tenant_id = $1`,
        [e.tenantId],
      )
    ).rows[0];
    expect(row).toEqual({
      event_id: e.id,
      ts: String(e.ts),
      key_id: e.keyId,
      model: null,
      version: null,
      route: e.route,
      status: 429,
      latency_ms: 4,
      cache: 'HIT-REDIS',
      items: 7,
      request_id: e.requestId,
      origin_id: null,
    });
  });

  it('stores an event delivered twice (a producer retry) once and counts the duplicate', async () => {
    const stream = newStream();
    const tenantId = randomUUID();
    const e = usageEvent({ tenantId });
    await produce(redis, stream, [e]);
    const drain = drainFor(stream);
    await drainAll(drain);
    await produce(redis, stream, [e, usageEvent({ tenantId })]);
    const second = await drain.runOnce();
    expect(second).toMatchObject({ entries: 2, written: 1, duplicates: 1 });
    expect(await rowsFor(tenantId)).toBe(2);
  });

  it('dead-letters malformed entries with the reason, acks them, and still writes the good ones', async () => {
    const stream = newStream();
    const tenantId = randomUUID();
    const good = [usageEvent({ tenantId }), usageEvent({ tenantId })];
    await produce(redis, stream, [good[0]!]);
    await redis.xadd(stream, '*', 'id', 'x', 'e', '{not json');
    await redis.xadd(stream, '*', 'only', 'junk');
    await redis.xadd(
      stream,
      '*',
      'e',
      JSON.stringify({ ...usageEvent({ tenantId }), status: 'ok', cache: 'HIT' }),
    );
    const mismatched = usageEvent({ tenantId });
    await redis.xadd(stream, '*', 'id', randomUUID(), 'e', JSON.stringify(mismatched));
    await produce(redis, stream, [good[1]!]);

    const result = await drainFor(stream).runOnce();
    expect(result).toMatchObject({ entries: 6, written: 2, deadLettered: 4 });
    expect(await rowsFor(tenantId)).toBe(2);
    expect(await pendingCount(redis, stream)).toBe(0);

    const dead = (await redis.xrange(`${stream}:dead`, '-', '+')).map(([, f]) => {
      const m: Record<string, string> = {};
      for (let i = 0; i < f.length; i += 2) m[f[i]!] = f[i + 1]!;
      return m;
    });
    expect(dead.map((d) => d['reason'])).toEqual([
      'field "e" is not valid JSON',
      'missing field "e"',
      expect.stringMatching(/^invalid usage event: .*status.*cache|^invalid usage event: .*cache.*status/),
      expect.stringMatching(/differs from the event id/),
    ]);
    expect(JSON.parse(dead[1]!['fields']!)).toEqual({ only: 'junk' });
    expect(dead.every((d) => d['stream'] === stream && /^\d+-\d+$/.test(d['entry'] ?? ''))).toBe(true);
  });

  it('killed after COMMIT and before XACK, then restarted: every event stored exactly once', async () => {
    const stream = newStream();
    const tenantId = randomUUID();
    await produce(
      redis,
      stream,
      Array.from({ length: 75 }, () => usageEvent({ tenantId })),
    );
    const crashed = await runChild({ STREAM: stream, CRASH_AT: 'after-commit', BATCH: '50' });
    expect(crashed.code, crashed.stderr).toBe(87);
    expect(await rowsFor(tenantId)).toBe(50);
    expect(await pendingCount(redis, stream)).toBe(50);

    const restarted = await runChild({ STREAM: stream, BATCH: '50' });
    expect(restarted.code, restarted.stderr).toBe(0);
    const stats = JSON.parse(restarted.stdout);
    expect(stats).toMatchObject({ entries: 75, written: 25, duplicates: 50 });
    expect(await rowsFor(tenantId)).toBe(75);
    expect(await pendingCount(redis, stream)).toBe(0);
  });

  it('killed inside the transaction before COMMIT, then restarted: nothing half-written, nothing lost', async () => {
    const stream = newStream();
    const tenantId = randomUUID();
    await produce(
      redis,
      stream,
      Array.from({ length: 30 }, () => usageEvent({ tenantId })),
    );
    const crashed = await runChild({ STREAM: stream, CRASH_AT: 'before-commit', BATCH: '50' });
    expect(crashed.code, crashed.stderr).toBe(86);
    expect(await rowsFor(tenantId)).toBe(0);
    expect(await pendingCount(redis, stream)).toBe(30);

    const restarted = await runChild({ STREAM: stream, BATCH: '50' });
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(JSON.parse(restarted.stdout)).toMatchObject({ written: 30, duplicates: 0 });
    expect(await rowsFor(tenantId)).toBe(30);
    expect(await pendingCount(redis, stream)).toBe(0);
  });

  it("claims a crashed consumer's pending entries under another consumer name", async () => {
    const stream = newStream();
    const tenantId = randomUUID();
    await produce(
      redis,
      stream,
      Array.from({ length: 20 }, () => usageEvent({ tenantId })),
    );
    const crashed = await runChild({ STREAM: stream, CRASH_AT: 'after-commit', CONSUMER: 'gone-for-good' });
    expect(crashed.code, crashed.stderr).toBe(87);
    expect(await pendingCount(redis, stream)).toBe(20);

    // A fresh consumer with a different name: its own pending list is empty, so only XAUTOCLAIM finds them.
    const drain = drainFor(stream, { consumer: 'survivor', claimIdleMs: 0 });
    const result = await drain.runOnce();
    expect(result).toMatchObject({ claimed: 20, entries: 20, written: 0, duplicates: 20 });
    expect(await rowsFor(tenantId)).toBe(20);
    expect(await pendingCount(redis, stream)).toBe(0);
  });

  it('leaves events pending in Redis while Postgres is unreachable and delivers them once it is back', async () => {
    const stream = newStream();
    const tenantId = randomUUID();
    await produce(
      redis,
      stream,
      Array.from({ length: 40 }, () => usageEvent({ tenantId })),
    );
    // A database that does not exist yet: every connection fails until the test creates it.
    const lateName = uniqueName('aiserve_t_late');
    const latePool = new pg.Pool({ connectionString: databaseUrl(lateName), max: 2 });
    latePool.on('error', () => {});
    try {
      const drain = drainFor(stream, { db: drizzle(latePool), batchSize: 25 });

      const failed = await drain.runOnce().catch((err: unknown) => err);
      expect(isAppError(failed) && failed.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(await pendingCount(redis, stream)).toBe(25);

      await drain.start();
      for (let i = 0; i < 200 && drain.stats().failures < 3; i += 1)
        await new Promise((r) => setTimeout(r, 20));
      expect(drain.stats().failures).toBeGreaterThanOrEqual(3);
      expect(drain.stats().written).toBe(0);
      expect(await pendingCount(redis, stream)).toBe(25);

      await createEmptyDatabase(lateName);
      await migrateUrl(databaseUrl(lateName));
      let rows = 0;
      for (let i = 0; i < 500 && rows < 40; i += 1) {
        await new Promise((r) => setTimeout(r, 20));
        rows = await rowsFor(tenantId, latePool);
      }
      await drain.stop();
      expect(drain.state).toBe('stopped');
      expect(rows).toBe(40);
      expect(await pendingCount(redis, stream)).toBe(0);
      expect(drain.stats().written).toBe(40);
    } finally {
      await latePool.end();
      await dropDatabase(lateName);
    }
  });
});

describe('usage drain, rows Postgres refuses', () => {
  it('dead-letters the one row Postgres rejects and writes the rest of the batch', async () => {
    const stream = newStream();
    const tenantId = randomUUID();
    // Valid JSON and schema, but past the integer column's range: only Postgres can say no.
    const poison = usageEvent({ tenantId, latencyMs: 1e12 });
    await produce(redis, stream, [usageEvent({ tenantId }), poison, usageEvent({ tenantId })]);
    const result = await drainFor(stream).runOnce();
    expect(result).toMatchObject({ entries: 3, written: 2, deadLettered: 1, duplicates: 0 });
    expect(await rowsFor(tenantId)).toBe(2);
    expect(await pendingCount(redis, stream)).toBe(0);
    const entries = (await redis.xrange(`${stream}:dead`, '-', '+')) as [string, string[]][];
    const fields = entries[0]![1];
    expect(fields[fields.indexOf('reason') + 1]).toMatch(/^rejected by Postgres: /);
    expect(fields[fields.indexOf('fields') + 1]).toContain(poison.id);
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USAGE_CONSUMER_GROUP, USAGE_STREAM } from '../../../shared/redis-keys.ts';
import { hasRedisServer, type PrivateRedis, startPrivateRedis } from '../../support/private-redis.ts';
import { groupAlive, groupGone } from '../../support/process-state.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { pendingCount, produce, usageEvent } from '../../support/usage-fixtures.ts';

/**
 * `npm run usage:drain`, the long-running drain a self-hoster runs, as a process: the everyday loop, a Redis
 * that restarts empty under it (its group gone: NOGROUP), and SIGTERM. A Redis of this file's own, restarted
 * by the test; a database of its own.
 */
let redisServer: PrivateRedis;
let redis: Redis;
let tdb: TestDatabase;
let drain: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  redisServer = await startPrivateRedis();
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  tdb = await createTestDatabase();
});

afterAll(async () => {
  if (drain?.pid && groupAlive(drain.pid)) process.kill(-drain.pid, 'SIGKILL');
  redis?.disconnect();
  await redisServer?.close();
  await tdb?.close();
});

const rowsFor = async (tenantId: string): Promise<number> =>
  (await tdb.pool.query('SELECT count(*)::int AS n FROM usage_events WHERE tenant_id = $1', [tenantId]))
    .rows[0].n;

/** Polls until `rowsFor(tenantId)` is `n`; returns how long that took. */
async function rowsReach(tenantId: string, n: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let rows = -1;
  while (Date.now() - started < timeoutMs) {
    rows = await rowsFor(tenantId);
    if (rows === n) return Date.now() - started;
    if (drain?.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `${rows} rows of ${n} after ${Date.now() - started} ms; drain output:\n${output.slice(-3000)}`,
  );
}

describe.skipIf(!hasRedisServer)('npm run usage:drain (the long-running drain)', () => {
  it('moves every event to Postgres once, goes on by itself after Redis restarted empty, and stops on SIGTERM', async () => {
    drain = spawn('npm', ['run', '--silent', 'usage:drain'], {
      env: {
        ...process.env,
        REDIS_URL: redisServer.url,
        DATABASE_URL: tdb.url,
        DATABASE_DRIVER: 'pg',
        USAGE_DRAIN_CONSUMER: 'job-test',
        USAGE_DRAIN_BATCH: '20',
        USAGE_DRAIN_BLOCK_MS: '200',
        USAGE_DRAIN_BACKOFF_MIN_MS: '50',
        USAGE_DRAIN_BACKOFF_MAX_MS: '500',
        LOG_LEVEL: 'info',
      },
      // Its own process group, as a terminal runs it: SIGTERM goes to npm, tsx and node together.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    drain.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    drain.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    // npm itself may end by the group's SIGTERM; 'close' waits for every holder of its pipes (tsx, the drain).
    const exited = new Promise<number | 'SIGTERM' | null>((resolve) =>
      drain!.on('close', (code, signal) => resolve(signal === 'SIGTERM' ? 'SIGTERM' : code)),
    );

    const tenantId = randomUUID();
    await produce(
      redis,
      USAGE_STREAM,
      Array.from({ length: 50 }, () => usageEvent({ tenantId })),
    );
    const firstMs = await rowsReach(tenantId, 50, 60_000);
    expect(output).toContain('"msg":"usage drain started"');

    // Redis loses everything: the stream, the group, this consumer's pending list. The edge goes on appending.
    await redisServer.restartEmpty();
    await new Promise((r) => setTimeout(r, 300));
    await produce(
      redis,
      USAGE_STREAM,
      Array.from({ length: 30 }, () => usageEvent({ tenantId })),
    );
    const recoveredMs = await rowsReach(tenantId, 80, 20_000);
    expect(output).toContain('re-creating it from id 0');
    expect(await pendingCount(redis, USAGE_STREAM, USAGE_CONSUMER_GROUP)).toBe(0);

    // One more batch just before the stop: acked before the process exits.
    await produce(
      redis,
      USAGE_STREAM,
      Array.from({ length: 7 }, () => usageEvent({ tenantId })),
    );
    await rowsReach(tenantId, 87, 20_000);
    const stopAt = Date.now();
    process.kill(-drain.pid!, 'SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000)),
    ]);
    expect([0, 'SIGTERM'], output.slice(-3000)).toContain(code);
    expect(await groupGone(drain.pid!, 10_000)).toBe(true);
    expect(output).toContain('"msg":"usage drain stopped"');
    expect(await rowsFor(tenantId)).toBe(87);
    expect(await pendingCount(redis, USAGE_STREAM, USAGE_CONSUMER_GROUP)).toBe(0);
    process.stdout.write(
      `usage:drain: 50 events in ${firstMs} ms; 30 more after Redis restarted empty in ${recoveredMs} ms; ` +
        `stopped ${Date.now() - stopAt} ms after SIGTERM\n`,
    );
  }, 120_000);
});

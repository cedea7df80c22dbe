import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { expect } from 'vitest';
import { createDatabase } from '../../drizzle/client/client.ts';
import { ioredisUsageStream } from '../../drizzle/pipeline/stream-ioredis.ts';
import { UsageDrain } from '../../drizzle/pipeline/usage-drain.ts';
import { loadDataConfig } from '../../shared/config/data.ts';
import { USAGE_CONSUMER_GROUP, USAGE_DEAD_LETTER_STREAM, USAGE_STREAM } from '../../shared/redis-keys.ts';
import type { PrivatePostgres } from './private-postgres.ts';
import type { PrivateRedis } from './private-redis.ts';

/**
 * What the usage outage suites share (the in-process edge under Node and the worker in workerd): traffic with a
 * known request id per request, the drain running in-process against the test's own Redis and Postgres, and
 * the one assertion that matters for billing: every request answered is exactly one row in `usage_events`.
 */

export interface Traffic {
  /** Request ids that got an HTTP answer (each must become exactly one row). */
  readonly answered: string[];
  /** Request ids that got no answer at all (a test requires none). */
  readonly unanswered: string[];
  /** Longest time one request took, in milliseconds. */
  maxLatencyMs(): number;
  /** Waits until the requests in flight have been answered, and starts no more until `resume`. */
  pause(): Promise<void>;
  resume(): void;
  /** One request more, outside the loop (counted like the others). */
  once(): Promise<void>;
  stop(): Promise<void>;
}

export interface TrafficOptions {
  base: string;
  key: string;
  /** Request ids are `<prefix>-<n>`; rows are matched by it. */
  prefix: string;
  concurrency: number;
  /** Pause between one client's requests, in milliseconds (keeps two shared cores usable). */
  gapMs?: number;
}

/** `concurrency` clients sending inference requests with a key until stopped. */
export function startTraffic(options: TrafficOptions): Traffic {
  const answered: string[] = [];
  const unanswered: string[] = [];
  let n = 0;
  let maxLatency = 0;
  let stopped = false;
  let paused = false;
  let inFlight = 0;
  let wake: () => void = () => {};
  let gate = Promise.resolve();

  const one = async () => {
    const id = `${options.prefix}-${String(n++).padStart(6, '0')}`;
    inFlight += 1;
    const started = Date.now();
    try {
      const res = await fetch(`${options.base}/v2/models/m/infer`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.key}`,
          'content-type': 'application/json',
          'x-request-id': id,
        },
        body: JSON.stringify({
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [n % 97, 0.5] }],
        }),
        signal: AbortSignal.timeout(20_000),
      });
      await res.arrayBuffer();
      answered.push(id);
    } catch {
      unanswered.push(id);
    } finally {
      maxLatency = Math.max(maxLatency, Date.now() - started);
      inFlight -= 1;
    }
  };

  const client = async () => {
    while (!stopped) {
      if (paused) {
        await gate;
        continue;
      }
      await one();
      if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
    }
  };
  const clients = Array.from({ length: options.concurrency }, () => client());

  const idle = async () => {
    while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  };

  return {
    answered,
    unanswered,
    maxLatencyMs: () => maxLatency,
    async pause() {
      if (!paused) {
        paused = true;
        gate = new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      await idle();
    },
    resume() {
      paused = false;
      wake();
    },
    once: one,
    async stop() {
      stopped = true;
      if (paused) this.resume();
      await Promise.all(clients);
      await idle();
    },
  };
}

export interface DrainRig {
  drain: UsageDrain;
  redis: Redis;
  pool: pg.Pool;
  /** Creates the consumer group again after Redis came back empty (what the drain's NOGROUP recovery does). */
  recreateGroup(): Promise<void>;
  close(): Promise<void>;
}

/** The usage drain's own code, running its loop in-process against the test's Redis and Postgres. */
export async function startDrain(options: { redisUrl: string; databaseUrl: string }): Promise<DrainRig> {
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  // The drain's database through the real client factory, as the drain job opens it; a pool of the test's own
  // for what it asserts.
  const database = await createDatabase(
    loadDataConfig({
      DATABASE_URL: options.databaseUrl,
      DATABASE_DRIVER: 'pg',
      DATABASE_POOL_MAX: '2',
      DATABASE_CONNECT_TIMEOUT_MS: '2000',
    }),
  );
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2, connectionTimeoutMillis: 2_000 });
  pool.on('error', () => {});
  const drain = new UsageDrain({
    redis: ioredisUsageStream(redis),
    db: database.primary,
    stream: USAGE_STREAM,
    deadLetterStream: USAGE_DEAD_LETTER_STREAM,
    group: USAGE_CONSUMER_GROUP,
    consumer: DRAIN_CONSUMER,
    batchSize: 500,
    blockMs: 100,
    // Short, so the drain's own recovery (XAUTOCLAIM, itself included) acts within a test: entries delivered to
    // it whose XREADGROUP reply Redis never sent before it was killed wait in its pending list for this long.
    claimIdleMs: 2_000,
    claimIntervalMs: 1_000,
    backoffMinMs: 50,
    backoffMaxMs: 300,
    deadLetterMaxLen: 1_000_000,
    logger: pino({ level: 'silent' }),
  });
  await drain.start();
  return {
    drain,
    redis,
    pool,
    async recreateGroup() {
      try {
        await redis.xgroup('CREATE', USAGE_STREAM, USAGE_CONSUMER_GROUP, '0', 'MKSTREAM');
      } catch (err) {
        if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
      }
    },
    async close() {
      await drain.stop();
      redis.disconnect();
      await database.close();
      await pool.end();
    },
  };
}

/** Rows per request id under `prefix`. */
async function rowsByRequest(pool: pg.Pool, prefix: string): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ request_id: string; n: number }>(
    `SELECT request_id, count(*)::int AS n FROM usage_events WHERE request_id LIKE $1 GROUP BY request_id`,
    [`${prefix}-%`],
  );
  return new Map(rows.map((r) => [r.request_id, r.n]));
}

export interface Tally {
  outage: string;
  sent: number;
  rows: number;
  missing: number;
  duplicated: number;
  unanswered: number;
  maxLatencyMs: number;
}

/**
 * Waits (up to `timeoutMs`) until every answered request has its row, sending one request more every 250 ms
 * (`nudge`): an edge keeps events it could not write in the isolate and retries them with later requests.
 * Returns the figures, also printed as one line.
 */
export async function settleAndTally(
  outage: string,
  traffic: Traffic,
  pool: pg.Pool,
  prefix: string,
  options: { timeoutMs: number; nudge: boolean; redis?: Redis },
): Promise<Tally> {
  await traffic.stop();
  const deadline = Date.now() + options.timeoutMs;
  let rows = new Map<string, number>();
  for (;;) {
    rows = await rowsByRequest(pool, prefix).catch(() => rows);
    const complete = traffic.answered.every((id) => rows.has(id));
    if (complete || Date.now() > deadline) break;
    if (options.nudge) await traffic.once();
    await new Promise((r) => setTimeout(r, 250));
  }
  const tally: Tally = {
    outage,
    sent: traffic.answered.length,
    rows: [...rows.values()].reduce((a, b) => a + b, 0),
    missing: traffic.answered.filter((id) => !rows.has(id)).length,
    duplicated: [...rows.values()].filter((n) => n > 1).length,
    unanswered: traffic.unanswered.length,
    maxLatencyMs: traffic.maxLatencyMs(),
  };
  const missing = traffic.answered.filter((id) => !rows.has(id));
  if (missing.length > 0 && options.redis) await explainMissing(options.redis, missing.slice(0, 10));
  console.log(`usage outage figures ${JSON.stringify(tally)}`);
  return tally;
}

/** For a failing run: where in the stream (and whose pending list) the first missing requests' entries are. */
async function explainMissing(redis: Redis, missing: string[]): Promise<void> {
  const entries = (await redis.xrange(USAGE_STREAM, '-', '+', 'COUNT', 20_000).catch(() => [])) as [
    string,
    string[],
  ][];
  for (const requestId of missing) {
    const entry = entries.find(([, fields]) => fields.some((f) => f.includes(`"requestId":"${requestId}"`)));
    const pending = entry
      ? await redis
          .xpending(USAGE_STREAM, USAGE_CONSUMER_GROUP, entry[0], entry[0], 1)
          .catch((e) => String(e))
      : null;
    console.log(
      `usage outage missing ${requestId}: entry ${entry?.[0] ?? 'none'} pending ${JSON.stringify(pending)}`,
    );
  }
}

/** Nothing lost, nothing counted twice: each answered request is exactly one row, and every request was answered. */
export function expectExactlyOnce(tally: Tally): void {
  expect(tally.unanswered).toBe(0);
  expect(tally.sent).toBeGreaterThan(50);
  expect({ missing: tally.missing, duplicated: tally.duplicated, rows: tally.rows }).toEqual({
    missing: 0,
    duplicated: 0,
    rows: tally.sent,
  });
}

/** Waits until every request answered so far has its row (the drain has caught up). */
async function waitForRows(
  traffic: Traffic,
  pool: pg.Pool,
  prefix: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const rows = await rowsByRequest(pool, prefix);
    if (traffic.answered.every((id) => rows.has(id))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the drain did not catch up within ${timeoutMs} ms`);
}

/** A tenant with limits no test reaches, and a key of it, through the edge's admin API. */
export async function createTenantKey(base: string, adminToken: string, name: string): Promise<string> {
  const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const t = await fetch(`${base}/admin/v1/tenants`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name, plan: 'pro', requestsPerMinute: 1_000_000, burst: 1_000_000 }),
  });
  if (t.status !== 201) throw new Error(`tenant: ${t.status} ${await t.text()}`);
  const k = await fetch(`${base}/admin/v1/tenants/${name}/keys`, { method: 'POST', headers, body: '{}' });
  if (k.status !== 201) throw new Error(`key: ${k.status} ${await k.text()}`);
  return ((await k.json()) as { key: string }).key;
}

/** The drain's consumer name in these suites. */
export const DRAIN_CONSUMER = 'outage-test';

/**
 * `count` small entries appended in Redis itself (Lua), and delivered to (read by) the consumer `deliverTo` of
 * the drain's group, which never acknowledges them: the backlog a drain replica that crashed during a long
 * outage leaves pending.
 */
export async function appendBacklog(redis: Redis, count: number, deliverTo: string): Promise<void> {
  const chunk = 100_000;
  for (let done = 0; done < count; done += chunk) {
    await redis.eval(
      `local n = tonumber(ARGV[1])
      for i = 1, n do redis.call('XADD', KEYS[1], '*', 'e', 'backlog') end
      redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[3], 'COUNT', n, 'STREAMS', KEYS[1], '>')
      return 1`,
      1,
      USAGE_STREAM,
      Math.min(chunk, count - done),
      USAGE_CONSUMER_GROUP,
      deliverTo,
    );
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What one outage scenario acts on. */
export interface OutageRig {
  redis: PrivateRedis;
  postgres: PrivatePostgres;
  drain: DrainRig;
  traffic(prefix: string): Traffic;
}

const settle = (rig: OutageRig, outage: string, t: Traffic, prefix: string) =>
  settleAndTally(outage, t, rig.drain.pool, prefix, {
    timeoutMs: 15_000,
    nudge: true,
    redis: rig.drain.redis,
  });

/**
 * The Redis outages both suites (Node edge, worker in workerd) put the edge through, under traffic; each returns
 * the figures once every answered request should have its row.
 */
export const redisOutages = {
  /** SIGKILL for 3 s, restarted with its data (append-only file). */
  async killed(rig: OutageRig, prefix: string): Promise<Tally> {
    const t = rig.traffic(prefix);
    await sleep(1_000);
    await rig.redis.kill();
    await sleep(3_000);
    await rig.redis.restart({ empty: false });
    await sleep(1_000);
    return settle(rig, 'redis killed 3 s', t, prefix);
  },

  /** SIGKILL, restarted 2 s later with no data (no persistence): stream and consumer group gone. */
  async restartedEmpty(rig: OutageRig, prefix: string): Promise<Tally> {
    const t = rig.traffic(prefix);
    await sleep(1_000);
    // What Redis held and loses with its data is out of the edge's reach (the docs say so): the wipe comes once
    // the drain has written everything answered so far.
    await t.pause();
    await waitForRows(t, rig.drain.pool, prefix, 10_000);
    await rig.redis.kill();
    t.resume();
    await sleep(2_000);
    await rig.redis.restart({ empty: true });
    // What the drain's NOGROUP recovery does: the group again, from the start of the new stream.
    await rig.drain.recreateGroup();
    await sleep(1_000);
    return settle(rig, 'redis restarted empty', t, prefix);
  },

  /**
   * SIGSTOP 2 s then SIGCONT: the appends that timed out at the edge still land once Redis runs again, after the
   * edge wrote them to Postgres directly (the drain's insert skips them). Then SIGSTOP 2 s and SIGKILL while
   * hung (a supervisor's liveness probe): what it had not processed never lands.
   */
  async hungThenRestarted(rig: OutageRig, prefix: string): Promise<Tally> {
    const t = rig.traffic(prefix);
    await sleep(1_000);
    rig.redis.hang();
    await sleep(2_000);
    rig.redis.resume();
    await sleep(1_000);
    rig.redis.hang();
    await sleep(2_000);
    await rig.redis.restart({ empty: false });
    await sleep(1_000);
    return settle(rig, 'redis hung 2 s, resumed; hung 2 s, restarted', t, prefix);
  },

  /** Redis killed and Postgres stopped together for 3 s: events wait in the isolate. */
  async withPostgresDown(rig: OutageRig, prefix: string): Promise<Tally> {
    const t = rig.traffic(prefix);
    await sleep(1_000);
    await Promise.all([rig.redis.kill(), rig.postgres.stop()]);
    await sleep(3_000);
    await Promise.all([rig.redis.restart({ empty: false }), rig.postgres.start()]);
    await sleep(1_000);
    return settle(rig, 'redis and postgres down 3 s', t, prefix);
  },
};

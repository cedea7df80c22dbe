import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/dev/stack/free-port.ts';
import type { LocalState } from '../../scripts/dev/stack/local-state.ts';
import { USAGE_CONSUMER_GROUP, USAGE_STREAM } from '../../shared/redis-keys.ts';
import { hasRedisServer, type PrivateRedis, startPrivateRedis } from '../support/private-redis.ts';
import { groupAlive, groupGone } from '../support/process-state.ts';

/**
 * `npm start` with Redis, as a developer runs it (`REDIS_URL=… npm start`, the database the embedded PGlite): the
 * edge appends one usage event per request to the Redis stream, and the usage drain `npm start` supervises moves
 * each one to Postgres, where the admin usage report counts it. A redis-server and a PGlite folder of this test's
 * own; every port and the state folder moved so a developer's own stack is not touched.
 */
let dir: string | undefined;
let npm: ChildProcess | undefined;
let output = '';
let partPids: number[] = [];
let redisServer: PrivateRedis | undefined;
let redis: Redis | undefined;

afterAll(async () => {
  if (npm?.pid && groupAlive(npm.pid)) process.kill(-npm.pid, 'SIGKILL');
  for (const pid of partPids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  redis?.disconnect();
  await redisServer?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (npm?.exitCode !== null && npm?.exitCode !== undefined) {
      throw new Error(`npm start exited (${npm.exitCode}) before ${what}:\n${output.slice(-4000)}`);
    }
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}:\n${output.slice(-4000)}`);
}

const COUNT = 'SELECT count(*)::int AS n FROM usage_events';

/** Rows in the running stack's PGlite, through its socket server. */
async function usageRows(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(COUNT)).rows[0].n;
  } finally {
    await client.end();
  }
}

/** Rows in the PGlite folder once the stack (PGlite last) has stopped. */
async function usageRowsAtRest(dataDir: string): Promise<number> {
  const db = await PGlite.create(dataDir);
  try {
    return (await db.query<{ n: number }>(COUNT)).rows[0]!.n;
  } finally {
    await db.close();
  }
}

/** Pending entries of the drain's group and entries not yet delivered to it (`lag`, Redis 7). */
async function backlog(r: Redis): Promise<{ pending: number; lag: number }> {
  const groups = (await r.xinfo('GROUPS', USAGE_STREAM)) as (string | number)[][];
  const group = groups.find((g) => g[g.indexOf('name') + 1] === USAGE_CONSUMER_GROUP)!;
  return {
    pending: Number(group[group.indexOf('pending') + 1]),
    lag: Number(group[group.indexOf('lag') + 1]),
  };
}

/**
 * How many entries the edge ever appended to the stream (XINFO STREAM `entries-added`): the drain trims what it
 * has acknowledged, so the stream's length no longer counts them.
 */
async function entriesAdded(redis: Redis): Promise<number> {
  const info = (await redis.xinfo('STREAM', USAGE_STREAM)) as unknown[];
  const at = info.indexOf('entries-added');
  return Number(info[at + 1]);
}

describe.skipIf(!hasRedisServer)('npm start with REDIS_URL (the usage drain runs with the stack)', () => {
  it('every request through the edge is one usage row and counted once in the admin report; Ctrl-C stops the drain after the edge with nothing pending', async () => {
    redisServer = await startPrivateRedis();
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
    dir = await mkdtemp(join(tmpdir(), 'aiserve-stack-usage-'));
    const stateDir = join(dir, 'state');
    const [originPort, edgePort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AISERVE_STATE_DIR: stateDir,
      PGLITE_DATA_DIR: join(dir, 'pglite'),
      REDIS_URL: redisServer.url,
      ORIGIN_PORT: String(originPort),
      EDGE_PORT: String(edgePort),
      LOG_LEVEL: 'info',
    };
    for (const k of ['DATABASE_URL', 'MODEL_REPOSITORY', 'PORT', 'AISERVE_EDGE', 'USAGE_DRAIN_CONSUMER'])
      delete env[k];
    npm = spawn('npm', ['start'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    npm.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    npm.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<number | 'SIGINT' | null>((resolve) =>
      npm!.on('exit', (code, signal) => resolve(signal === 'SIGINT' ? 'SIGINT' : code)),
    );

    const localJson = join(stateDir, 'local.json');
    const state = await waitFor('local.json', 280_000, async () =>
      existsSync(localJson) ? (JSON.parse(await readFile(localJson, 'utf8')) as LocalState) : undefined,
    );
    partPids = Object.values(state.pids ?? {});
    expect(state.pids?.['drain'], 'npm start records the drain it started').toEqual(expect.any(Number));
    // npm start's own smoke request is the first usage event; the test's come after it.
    await waitFor('the smoke request', 90_000, async () =>
      output.includes('[start] checked: the example request') ? true : undefined,
    );

    const body = await readFile(state.exampleRequest!);
    const N = 40;
    const sentAt = Date.now();
    for (let i = 0; i < N; i += 1) {
      const res = await fetch(`${state.edgeUrl}/v2/models/ocr-cls/infer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${state.apiKey}`, 'content-type': 'application/json' },
        body,
      });
      expect(res.status, await res.clone().text()).toBe(200);
      await res.text();
    }
    const expected = N + 1;
    await waitFor(`${expected} usage rows`, 30_000, async () =>
      (await usageRows(state.databaseUrl!)) >= expected ? true : undefined,
    );
    const drainedMs = Date.now() - sentAt;
    expect(await usageRows(state.databaseUrl!)).toBe(expected);

    const report = await fetch(
      `${state.edgeUrl}/admin/v1/tenants/demo/usage?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&limit=1000`,
      { headers: { authorization: `Bearer ${state.adminToken}` } },
    );
    const text = await report.text();
    expect(report.status, text).toBe(200);
    const usage = JSON.parse(text) as { totals: { requests: number }; events: unknown[] };
    expect(usage.totals.requests).toBe(expected);
    expect(usage.events).toHaveLength(expected);
    expect(await entriesAdded(redis)).toBe(expected);
    expect(await backlog(redis)).toEqual({ pending: 0, lag: 0 });

    // Five more, then Ctrl-C at once: the edge stops first, the drain after it, with every event written.
    for (let i = 0; i < 5; i += 1) {
      const res = await fetch(`${state.edgeUrl}/v2/models/ocr-cls/infer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${state.apiKey}`, 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(200);
      await res.text();
    }
    await waitFor('the last five in the stream', 10_000, async () =>
      (await entriesAdded(redis!)) === expected + 5 ? true : undefined,
    );
    // SIGINT to npm start's own process, not the terminal's whole group (test/e2e/stack-start.test.ts does that):
    // a group Ctrl-C also reaches tsx, which relays a second copy, and on a loaded machine that copy can be handled
    // over a second later (PGlite runs on npm start's event loop) and taken for a second Ctrl-C, which kills every
    // part at once: the order of a normal stop is what this test is about.
    process.kill(state.pids!['start']!, 'SIGINT');
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 90_000)),
    ]);
    expect([0, 'SIGINT'], output.slice(-3000)).toContain(code);
    expect(await groupGone(npm.pid!, 90_000), 'npm start left processes in its group').toBe(true);
    expect(output).not.toMatch(/npm start failed|ERR!|exited unexpectedly/);
    const order = ['[start] stopped edge', '[start] stopped usage-drain', '[start] stopped origin'].map((l) =>
      output.indexOf(l),
    );
    expect(
      order.every((i) => i >= 0) && order[0]! < order[1]! && order[1]! < order[2]!,
      output.slice(-3000),
    ).toBe(true);
    expect(output).toContain('"msg":"usage drain stopped"');
    expect(await usageRowsAtRest(join(dir, 'pglite'))).toBe(expected + 5);
    expect(await backlog(redis)).toEqual({ pending: 0, lag: 0 });
    process.stdout.write(
      `npm start: ${N} requests (+1 smoke) through the edge → ${expected} rows, all in Postgres ${drainedMs} ms ` +
        'after the first was sent; 5 more right before Ctrl-C all written\n',
    );
  }, 420_000);
});

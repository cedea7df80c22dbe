import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashBridge, type UpstashBridge } from '../../../scripts/dev/upstash-bridge.ts';
import { type NodeEdge, startNodeEdge } from '../../../workers/node.ts';
import {
  hasPostgresServer,
  type PrivatePostgres,
  startPrivatePostgres,
} from '../../support/private-postgres.ts';
import { hasRedisServer, type PrivateRedis, startPrivateRedis } from '../../support/private-redis.ts';

/**
 * The edge's health endpoints under Node (`npm run edge:node`), against a PostgreSQL and a Redis of this
 * suite's own (through the Upstash REST bridge, as the edge reaches Redis) that it stops and starts again.
 */

const CACHE_MS = 1_000;
const TIMEOUT_MS = 1_000;

let postgres: PrivatePostgres | null = null;
let redis: PrivateRedis | null = null;
let bridge: UpstashBridge | undefined;
let edge: NodeEdge | undefined;

beforeAll(async () => {
  if (!hasPostgresServer || !hasRedisServer) return;
  postgres = await startPrivatePostgres();
  redis = await startPrivateRedis();
  const token = randomBytes(16).toString('hex');
  bridge = await startUpstashBridge({ redisUrl: redis.url, token });
  edge = await startNodeEdge({
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'silent',
    EDGE_PORT: '0',
    DATABASE_URL: postgres.url(),
    DATABASE_DRIVER: 'pg',
    DATABASE_CONNECT_TIMEOUT_MS: '1000',
    UPSTASH_REDIS_REST_URL: bridge.url,
    UPSTASH_REDIS_REST_TOKEN: token,
    HEALTH_READY_CACHE_MS: String(CACHE_MS),
    HEALTH_READY_TIMEOUT_MS: String(TIMEOUT_MS),
  });
}, 60_000);

afterAll(async () => {
  await edge?.close();
  await bridge?.close();
  await redis?.close();
  await postgres?.close();
});

async function ready(): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${edge!.url}/v2/health/ready`);
  return { status: res.status, body: await res.json() };
}

/** Polls readiness until it answers `status`; returns the answer and how long that took. */
async function until(status: number, timeoutMs: number): Promise<{ body: unknown; tookMs: number }> {
  const started = Date.now();
  for (;;) {
    const answer = await ready();
    if (answer.status === status) return { body: answer.body, tookMs: Date.now() - started };
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `readiness still ${answer.status} ${JSON.stringify(answer.body)} after ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Redis's own count of the commands it served (INFO commandstats), INFO itself left out. */
function commandsServed(): { ping: number; all: number } {
  const info = execFileSync('redis-cli', ['-p', String(redis!.port), 'info', 'commandstats']).toString();
  let all = 0;
  let ping = 0;
  for (const [, name, calls] of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
    if (name === 'info') continue;
    all += Number(calls);
    if (name === 'ping') ping = Number(calls);
  }
  return { ping, all };
}

const both = { ready: true, dependencies: { postgres: 'up', redis: 'up' } };

describe('edge health with a Postgres and a Redis that go down', () => {
  it('is live and ready, naming each configured database, when Postgres and Redis answer', async (ctx) => {
    if (!edge) return ctx.skip();
    expect(await ready()).toEqual({ status: 200, body: both });
    const live = await fetch(`${edge.url}/v2/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ live: true });
  });

  it('answers 503 naming postgres while it is stopped, and ready again within the cache period once it is back', async (ctx) => {
    if (!edge || !postgres) return ctx.skip();
    await postgres.stop();
    try {
      const down = await until(503, CACHE_MS + TIMEOUT_MS + 3_000);
      expect(down.body).toEqual({ ready: false, dependencies: { postgres: 'down', redis: 'up' } });
      // Live is not readiness: the process is fine.
      expect((await fetch(`${edge.url}/v2/health/live`)).status).toBe(200);
    } finally {
      await postgres.start();
    }
    const back = await until(200, CACHE_MS + TIMEOUT_MS + 3_000);
    expect(back.body).toEqual(both);
    expect(back.tookMs).toBeLessThan(CACHE_MS + TIMEOUT_MS + 1_000);
  });

  it('answers 503 naming redis while it is stopped, and ready again within the cache period once it is back', async (ctx) => {
    if (!edge || !redis) return ctx.skip();
    await redis.kill();
    try {
      const down = await until(503, CACHE_MS + TIMEOUT_MS + 3_000);
      expect(down.body).toEqual({ ready: false, dependencies: { postgres: 'up', redis: 'down' } });
    } finally {
      await redis.start();
    }
    const back = await until(200, CACHE_MS + TIMEOUT_MS + 5_000);
    expect(back.body).toEqual(both);
  });

  it('answers a storm of probes from one check per cache period', async (ctx) => {
    if (!edge) return ctx.skip();
    await until(200, 10_000);
    await new Promise((r) => setTimeout(r, CACHE_MS + 100));
    const before = commandsServed();
    const answers = await Promise.all(Array.from({ length: 50 }, () => ready()));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const more = await Promise.all(Array.from({ length: 50 }, () => ready()));
    expect(more.filter((a) => a.status !== 200)).toEqual([]);
    // One PING and nothing else: not a limiter call per probe either.
    const after = commandsServed();
    expect({ ping: after.ping - before.ping, all: after.all - before.all }).toEqual({ ping: 1, all: 1 });
  });
});

describe('edge health without databases', () => {
  it('is ready with no dependencies to name', async () => {
    const bare = await startNodeEdge({ ENVIRONMENT: 'test', LOG_LEVEL: 'silent', EDGE_PORT: '0' });
    try {
      const res = await fetch(`${bare.url}/v2/health/ready`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ready: true, dependencies: {} });
    } finally {
      await bare.close();
    }
  });
});

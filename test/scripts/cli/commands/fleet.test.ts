import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import IORedis from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { queryRows } from '../../../../drizzle/client/executor.ts';
import { startUpstashBridge } from '../../../../scripts/dev/upstash-bridge.ts';
import { type FakeVastAi, startFakeVastAi } from '../../../support/provider-fakes/vast-ai.ts';
import { openMigrated } from '../../../support/test-database.ts';
import { cli } from '../run-cli.ts';

/**
 * `npm run cli -- fleet …` as an operator runs it: a spawned process against a migrated PostgreSQL database,
 * Redis through the Upstash REST bridge (on a Redis logical database of this file's own, since the registry
 * keys are fixed names), and the Vast.ai fake.
 */
const REDIS_BASE = (process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379').replace(/\/\d+$/, '');
const REDIS_URL = `${REDIS_BASE}/12`;

let db: Awaited<ReturnType<typeof openMigrated>>;
let bridge: Awaited<ReturnType<typeof startUpstashBridge>>;
let direct: IORedis;
let vast: FakeVastAi;
let env: Record<string, string>;

beforeAll(async () => {
  db = await openMigrated('postgres');
  bridge = await startUpstashBridge({ redisUrl: REDIS_URL, token: randomBytes(12).toString('hex'), port: 0 });
  direct = new IORedis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await direct.connect();
  vast = await startFakeVastAi({
    apiKey: 'vast-cli-key',
    bootDelayMs: 600_000,
    catalog: [{ providerType: 'A100 SXM4', region: 'US', hourlyCostUsd: 1.1 }],
  });
  env = {
    DATABASE_URL: db.url,
    UPSTASH_REDIS_REST_URL: bridge.url,
    UPSTASH_REDIS_REST_TOKEN: bridge.token,
    VAST_API_KEY: 'vast-cli-key',
    VAST_BASE_URL: vast.baseUrl,
    CONTROL_ORIGIN_IMAGE: 'ghcr.io/aiserve/origin:cli',
    HOST_ORIGIN_SIGNING_KEYS: 'edge1:cli-secret',
    AUTOSCALER_MIN_REPLICAS: '1',
    AISERVE_ACTOR: 'cli:test',
  };
});
afterAll(async () => {
  await vast?.close();
  await direct?.flushdb().catch(() => {});
  direct?.disconnect();
  await bridge?.close();
  await db?.dispose();
});
beforeEach(async () => {
  await direct.flushdb();
  await db.handle.primary.execute(sql`DELETE FROM gpu_instances`);
  vast.cloud.instances.clear();
});

const rows = () =>
  queryRows<{ status: string; provider: string }>(
    db.handle.primary,
    sql`SELECT status, provider FROM gpu_instances`,
  );

describe('npm run cli -- fleet', () => {
  it('reconcile --dry-run reports the launch the autoscaler wants and changes nothing', async () => {
    const run = await cli(['fleet', 'reconcile', '--dry-run', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { dryRun: boolean; decision: { add: number } };
    expect(report).toMatchObject({ dryRun: true, decision: { add: 1 } });
    expect(await rows()).toEqual([]);
    expect(vast.cloud.live()).toHaveLength(0);
  });

  it('reconcile launches through the configured provider, and status shows the instance, providers and breakers', async () => {
    const run = await cli(['fleet', 'reconcile'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('launched 1');
    expect(await rows()).toEqual([{ status: 'booting', provider: 'vast-ai' }]);
    expect(vast.cloud.live()[0]?.env).toMatchObject({
      ORIGIN_SIGNING_KEYS: 'edge1:cli-secret',
      REGISTRY_REDIS_REST_URL: bridge.url,
    });

    const status = await cli(['fleet', 'status', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    const data = JSON.parse(status.stdout) as {
      providers: { name: string; breaker: string }[];
      live: number;
      hourlyCostUsd: number;
      lastDecision: { actor: string } | null;
    };
    expect(data.providers).toEqual([{ name: 'vast-ai', breaker: 'closed' }]);
    expect(data).toMatchObject({ live: 1, hourlyCostUsd: 1.1 });
    expect(data.lastDecision?.actor).toBe('cli:test');
  });

  it('reconcile refuses to launch without an origin image, naming the variable (exit 2)', async () => {
    const { CONTROL_ORIGIN_IMAGE: _, ...rest } = env;
    const run = await cli(['fleet', 'reconcile'], rest);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CONTROL_ORIGIN_IMAGE');
    expect(vast.cloud.live()).toHaveLength(0);
  });

  it('rejects a bad control configuration naming every bad variable (exit 2)', async () => {
    const run = await cli(['fleet', 'status'], {
      ...env,
      CONTROL_PROVIDERS: 'vast-ai,aws',
      CONTROL_BOOT_TIMEOUT_MS: 'soon',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CONTROL_PROVIDERS');
    expect(run.stderr).toContain('CONTROL_BOOT_TIMEOUT_MS');
  });

  it('fleet commands without the registry (Upstash) fail with a message saying so (exit 2)', async () => {
    const { UPSTASH_REDIS_REST_URL: _u, UPSTASH_REDIS_REST_TOKEN: _t, ...rest } = env;
    const run = await cli(['fleet', 'status'], rest);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('UPSTASH_REDIS_REST_URL');
  });

  it('host-acl prints the GENTOKEN and SETUSER lines for the hosts’ restricted user, and refuses a bad name', async () => {
    const run = await cli(['fleet', 'host-acl', '--user', 'gpu-hosts', '--token', 'T0K'], {});
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('ACL GENTOKEN gpu-hosts');
    expect(run.stdout).toContain('ACL SETUSER gpu-hosts on >T0K resetkeys ~aiserve:origin:*');
    expect(run.stdout).toContain('HOST_REGISTRY_REST_TOKEN');
    const bad = await cli(['fleet', 'host-acl', '--user', 'x y'], {});
    expect(bad.code).toBe(2);
  });
});

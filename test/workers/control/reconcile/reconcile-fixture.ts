import { randomBytes } from 'node:crypto';
import { Redis } from '@upstash/redis';
import { sql } from 'drizzle-orm';
import IORedis from 'ioredis';
import type { DatabaseHandle } from '../../../../drizzle/client/client.ts';
import { queryRows } from '../../../../drizzle/client/executor.ts';
import { startUpstashBridge } from '../../../../scripts/dev/upstash-bridge.ts';
import type { OriginRecord } from '../../../../shared/fleet/origin-record.ts';
import { registerOrigin } from '../../../../shared/fleet/registry.ts';
import type { ScaleDecision } from '../../../../workers/control/autoscaler/policy.ts';
import type { ScalingPolicy } from '../../../../workers/control/fleet-state.ts';
import { createFailover, type Failover } from '../../../../workers/control/providers/failover.ts';
import { createRunPodAdapter } from '../../../../workers/control/providers/runpod.ts';
import { createVastAiAdapter } from '../../../../workers/control/providers/vast-ai.ts';
import type { ReconcileDeps } from '../../../../workers/control/reconcile/pass-state.ts';
import { type FakeRunPod, startFakeRunPod } from '../../../support/provider-fakes/runpod.ts';
import { type FakeVastAi, startFakeVastAi } from '../../../support/provider-fakes/vast-ai.ts';
import { openMigrated } from '../../../support/test-database.ts';

/**
 * Real PostgreSQL (a migrated database of this file's own), real Redis behind the Upstash REST bridge on a
 * Redis logical database of its own (the registry keys are fixed names, so a separate keyspace is what keeps
 * other test files' origins out of these fleets), and the Vast.ai and RunPod fakes.
 */
const REDIS_BASE = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface ReconcileFixture {
  db: DatabaseHandle;
  redis: Redis;
  direct: IORedis;
  vast: FakeVastAi;
  runpod: FakeRunPod;
  failover: Failover;
  clock: { now: number };
  next: ScaleDecision;
  policy: ScalingPolicy;
  deps(overrides?: Partial<ReconcileDeps>): ReconcileDeps;
  rows(): Promise<Record<string, string | null>[]>;
  audit(action?: string): Promise<{ action: string; target: string; details: Record<string, unknown> }[]>;
  register(
    instanceId: string,
    load?: Partial<OriginRecord['load']>,
    status?: 'ready' | 'draining',
  ): Promise<OriginRecord>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

const noop = (): ScaleDecision => ({ desired: 0, add: 0, drain: [], panic: false, reason: 'hold' });

export async function startReconcileFixture(redisDb: number): Promise<ReconcileFixture> {
  const opened = await openMigrated('postgres');
  const redisUrl = `${REDIS_BASE.replace(/\/\d+$/, '')}/${redisDb}`;
  const token = randomBytes(16).toString('hex');
  const bridge = await startUpstashBridge({ redisUrl, token, host: '127.0.0.1', port: 0 });
  const redis = new Redis({ url: bridge.url, token: bridge.token, retry: { retries: 0 } });
  const direct = new IORedis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await direct.connect();
  await direct.flushdb();
  const clock = { now: Date.now() };
  const vast = await startFakeVastAi({
    apiKey: 'v',
    now: () => clock.now,
    bootDelayMs: 60_000,
    catalog: [{ providerType: 'A100 SXM4', region: 'US', hourlyCostUsd: 1.1 }],
  });
  const runpod = await startFakeRunPod({
    apiKey: 'r',
    now: () => clock.now,
    bootDelayMs: 60_000,
    catalog: [{ providerType: 'NVIDIA A100 80GB PCIe', region: 'EU-RO-1', hourlyCostUsd: 1.64 }],
  });
  const vastTypes = { 'A100-80GB': 'A100 SXM4' };
  const runpodTypes = { 'A100-80GB': 'NVIDIA A100 80GB PCIe' };
  const failover = createFailover({
    providers: [
      {
        adapter: createVastAiAdapter({ apiKey: 'v', baseUrl: vast.baseUrl, gpuTypes: vastTypes }),
        gpuTypes: vastTypes,
      },
      {
        adapter: createRunPodAdapter({
          apiKey: 'r',
          baseUrl: runpod.baseUrl,
          gpuTypes: runpodTypes,
          now: () => clock.now,
        }),
        gpuTypes: runpodTypes,
      },
    ],
    now: () => clock.now,
    sleep: async () => {},
    maxAttempts: 2,
  });
  const fx: ReconcileFixture = {
    db: opened.handle,
    redis,
    direct,
    vast,
    runpod,
    failover,
    clock,
    next: noop(),
    policy: () => fx.next,
    deps: (overrides = {}) => ({
      db: opened.handle.primary,
      redis,
      failover,
      policy: fx.policy,
      now: () => clock.now,
      host: {
        image: 'ghcr.io/aiserve/origin:test',
        gpuType: 'A100-80GB',
        diskGb: 40,
        env: { ORIGIN_SIGNING_KEYS: 'edge1:secret', REGISTRY_REDIS_REST_URL: 'https://registry.example' },
      },
      bootTimeoutMs: 600_000,
      drainTimeoutMs: 300_000,
      ...overrides,
    }),
    rows: () =>
      queryRows(
        opened.handle.primary,
        sql`SELECT id::text, provider, provider_instance_id, client_token, region, gpu_type, status,
          hourly_cost_usd::text, ready_at::text, terminated_at::text, failure_reason
          FROM gpu_instances ORDER BY launched_at, id`,
      ),
    audit: (action) =>
      queryRows(
        opened.handle.primary,
        action
          ? sql`SELECT action, target, details FROM audit_log WHERE action = ${action} ORDER BY id`
          : sql`SELECT action, target, details FROM audit_log ORDER BY id`,
      ),
    async register(instanceId, load = {}, status = 'ready') {
      const record: OriginRecord = {
        id: `gpu-${instanceId}`,
        url: 'http://127.0.0.1:9',
        region: 'EU-RO-1',
        status,
        models: [{ name: 'ocr-cls', versions: ['1'] }],
        capacity: { maxInflight: 16 },
        load: { inflight: 0, queueDepth: {}, p50LatencyMs: null, gpuUtilization: null, ...load },
        startedAt: clock.now,
        heartbeatAt: clock.now,
        instanceId,
      };
      await registerOrigin(redis, record, { ttlMs: 15_000, nowMs: clock.now });
      return record;
    },
    async reset() {
      await direct.flushdb();
      await opened.handle.primary.execute(sql`DELETE FROM gpu_instances`);
      for (const cloud of [vast.cloud, runpod.cloud]) {
        cloud.instances.clear();
        cloud.requests.length = 0;
        for (const k of Object.keys(cloud.capacity)) delete cloud.capacity[k];
        cloud.quotaExceeded = false;
      }
      clock.now = Date.now();
      fx.next = noop();
    },
    async close() {
      await Promise.allSettled([vast.close(), runpod.close()]);
      await direct.flushdb().catch(() => {});
      direct.disconnect();
      await bridge.close();
      await opened.dispose();
    },
  };
  return fx;
}

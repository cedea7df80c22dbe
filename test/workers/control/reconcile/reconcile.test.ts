import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_AUTOSCALER_CONFIG } from '../../../../shared/fleet/autoscaler-config.ts';
import { listLiveOrigins } from '../../../../shared/fleet/registry.ts';
import {
  AUTOSCALER_STATE_KEY,
  DRAIN_KEY_PREFIX,
  originKey,
  RECONCILE_LOCK_KEY,
} from '../../../../shared/redis-keys.ts';
import { createAutoscalerPolicy } from '../../../../workers/control/autoscaler/state.ts';
import { reconcileOnce } from '../../../../workers/control/reconcile/reconcile.ts';
import { type ReconcileFixture, startReconcileFixture } from './reconcile-fixture.ts';

let fx: ReconcileFixture;
beforeAll(async () => {
  fx = await startReconcileFixture(11);
});
afterAll(async () => {
  await fx?.close();
});
beforeEach(async () => {
  await fx.reset();
});

const add = (n: number) => ({ desired: n, add: n, drain: [], panic: false, reason: `scale to ${n}` });

async function launchOne(): Promise<string> {
  fx.next = add(1);
  await reconcileOnce(fx.deps());
  fx.next = { desired: 1, add: 0, drain: [], panic: false, reason: 'hold' };
  const [row] = await fx.rows();
  return row!['id']!;
}

describe('reconcile pass against PostgreSQL, Redis (Upstash bridge) and the provider fakes', () => {
  it('launches what the policy asks on the first provider with capacity and records provider, id, region, type, cost and status', async () => {
    fx.vast.cloud.capacity['A100 SXM4'] = 0;
    fx.next = add(2);
    const auditBefore = (await fx.audit()).length;
    const report = await reconcileOnce(fx.deps());
    expect(report.counts.launched).toBe(2);
    const rows = await fx.rows();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({
        provider: 'runpod',
        region: 'EU-RO-1',
        gpu_type: 'A100-80GB',
        status: 'booting',
        hourly_cost_usd: '1.6400',
      });
      expect(row['provider_instance_id']).toMatch(/^pod/);
    }
    expect(fx.runpod.cloud.live()).toHaveLength(2);
    const audit = (await fx.audit()).slice(auditBefore);
    expect(audit.map((a) => a.action)).toEqual(['instance.started', 'instance.started', 'fleet.decision']);
    const decision = audit[2]!.details as { decision: { add: number }; inputs: unknown; actions: unknown[] };
    expect(decision.decision.add).toBe(2);
    expect(decision.inputs).toBeDefined();
    expect(decision.actions).toHaveLength(2);
  });

  it('spreads launches so no provider holds more than maxProviderShare of the fleet, in configured order otherwise', async () => {
    fx.next = add(4);
    await reconcileOnce(fx.deps({ maxProviderShare: 0.5 }));
    const byProvider = (await fx.rows()).map((r) => r['provider']).sort();
    expect(byProvider).toEqual(['runpod', 'runpod', 'vast-ai', 'vast-ai']);
  });

  it('with maxProviderShare 1 launches everything on the first provider of the configured order', async () => {
    fx.next = add(3);
    await reconcileOnce(fx.deps({ maxProviderShare: 1 }));
    expect((await fx.rows()).map((r) => r['provider'])).toEqual(['vast-ai', 'vast-ai', 'vast-ai']);
  });

  it('starts hosts with the image and the environment that lets them join the fleet as themselves', async () => {
    fx.vast.cloud.capacity['A100 SXM4'] = 0;
    const id = await launchOne();
    const host = fx.runpod.cloud.live()[0]!;
    expect(host.image).toBe('ghcr.io/aiserve/origin:test');
    expect(host.env).toEqual({
      ORIGIN_SIGNING_KEYS: 'edge1:secret',
      REGISTRY_REDIS_REST_URL: 'https://registry.example',
      ORIGIN_ID: `gpu-${id}`,
      ORIGIN_INSTANCE_ID: id,
    });
  });

  it('marks a booting instance ready once its origin registers', async () => {
    const id = await launchOne();
    await reconcileOnce(fx.deps());
    expect((await fx.rows())[0]!['status']).toBe('booting');
    await fx.register(id);
    const report = await reconcileOnce(fx.deps());
    expect(report.actions).toContainEqual(expect.objectContaining({ kind: 'ready', instanceId: id }));
    const [row] = await fx.rows();
    expect(row!['status']).toBe('ready');
    expect(row!['ready_at']).not.toBeNull();
  });

  it('terminates a host that never became ready within the boot timeout, and counts it', async () => {
    await launchOne();
    fx.clock.now += 599_000;
    expect((await reconcileOnce(fx.deps())).counts.bootTimeouts).toBe(0);
    fx.clock.now += 2_000;
    const report = await reconcileOnce(fx.deps());
    expect(report.counts.bootTimeouts).toBe(1);
    const [row] = await fx.rows();
    expect(row).toMatchObject({ status: 'failed' });
    expect(row!['failure_reason']).toMatch(/^boot timeout/);
    expect(fx.vast.cloud.live()).toHaveLength(0);
    const stopped = await fx.audit('instance.stopped');
    expect(stopped.at(-1)!.target).toBe(`instance:${row!['id']}`);
  });

  it('drains a busy host by marking it draining in the registry, and terminates it only once idle', async () => {
    const id = await launchOne();
    await fx.register(id, { inflight: 3 });
    await reconcileOnce(fx.deps());
    fx.next = { desired: 0, add: 0, drain: [id], panic: false, reason: 'load fell' };
    await reconcileOnce(fx.deps());
    expect((await fx.rows())[0]!['status']).toBe('draining');
    const listed = await listLiveOrigins(fx.redis, fx.clock.now);
    expect(listed.find((o) => o.instanceId === id)?.status).toBe('draining');
    expect(await fx.direct.exists(`${DRAIN_KEY_PREFIX}gpu-${id}`)).toBe(1);

    fx.next = { desired: 0, add: 0, drain: [], panic: false, reason: 'hold' };
    await reconcileOnce(fx.deps());
    expect(fx.vast.cloud.live()).toHaveLength(1);
    await fx.register(id, { inflight: 0 }, 'draining');
    const report = await reconcileOnce(fx.deps());
    expect(report.actions).toContainEqual(
      expect.objectContaining({ kind: 'terminate', reason: 'drained: idle' }),
    );
    expect((await fx.rows())[0]!['status']).toBe('terminated');
    expect(fx.vast.cloud.live()).toHaveLength(0);
  });

  it('terminates a draining host with work left once its drain deadline passes', async () => {
    const id = await launchOne();
    await fx.register(id, { inflight: 5 });
    await reconcileOnce(fx.deps());
    fx.next = { desired: 0, add: 0, drain: [id], panic: false, reason: 'load fell' };
    await reconcileOnce(fx.deps());
    fx.next = { desired: 0, add: 0, drain: [], panic: false, reason: 'hold' };
    fx.clock.now += 200_000;
    await fx.register(id, { inflight: 5 }, 'draining');
    await reconcileOnce(fx.deps());
    expect(fx.vast.cloud.live()).toHaveLength(1);
    fx.clock.now += 101_000;
    await fx.register(id, { inflight: 5 }, 'draining');
    const report = await reconcileOnce(fx.deps());
    expect(report.actions).toContainEqual(
      expect.objectContaining({ kind: 'terminate', reason: 'drain deadline passed' }),
    );
    expect(fx.vast.cloud.live()).toHaveLength(0);
  });

  it('terminates a host that is booting when the policy drains it, without waiting', async () => {
    const id = await launchOne();
    fx.next = { desired: 0, add: 0, drain: [id], panic: false, reason: 'load fell' };
    await reconcileOnce(fx.deps());
    expect((await fx.rows())[0]!['status']).toBe('terminated');
    expect(fx.vast.cloud.live()).toHaveLength(0);
  });

  it('terminates hosts with our label that no live instance owns, and counts them', async () => {
    fx.vast.cloud.create({
      id: '777',
      name: 'aiserve-lost-token',
      providerType: 'A100 SXM4',
      region: 'US',
      hourlyCostUsd: 1.1,
      image: 'x',
      env: {},
      userData: null,
    });
    const report = await reconcileOnce(fx.deps());
    expect(report.counts.orphans).toBe(1);
    expect(fx.vast.cloud.live()).toHaveLength(0);
  });

  it('adopts a host that a pass launched but died before recording', async () => {
    await launchOne();
    // Simulate the crash window: the row is still `requested` while the host exists at the provider.
    const [row] = await fx.rows();
    await fx.db.primary.execute(
      (await import('drizzle-orm')).sql`UPDATE gpu_instances SET status = 'requested', provider = 'pending',
        provider_instance_id = NULL WHERE id = ${row!['id']}::uuid`,
    );
    await reconcileOnce(fx.deps());
    const [after] = await fx.rows();
    expect(after).toMatchObject({ status: 'booting', provider: 'vast-ai' });
    expect(after!['provider_instance_id']).toBe(fx.vast.cloud.live()[0]!.id);
    expect(fx.vast.cloud.live()).toHaveLength(1);
  });

  it('marks an instance terminated when its host is gone at the provider', async () => {
    await launchOne();
    fx.vast.cloud.instances.clear();
    await reconcileOnce(fx.deps());
    expect((await fx.rows())[0]!['status']).toBe('terminated');
  });

  it('records a failed launch with every provider reason when none can launch', async () => {
    fx.vast.cloud.capacity['A100 SXM4'] = 0;
    fx.runpod.cloud.capacity['NVIDIA A100 80GB PCIe'] = 0;
    fx.next = add(3);
    const report = await reconcileOnce(fx.deps());
    expect(report.counts).toMatchObject({ launched: 0, launchFailed: 1 });
    const rows = await fx.rows();
    expect(rows).toHaveLength(1);
    expect(rows[0]!['status']).toBe('failed');
    expect(rows[0]!['failure_reason']).toContain('vast-ai: no_capacity; runpod: no_capacity');
  });

  it('a dry run decides and reports but launches, writes and audits nothing', async () => {
    fx.next = add(2);
    const auditBefore = (await fx.audit()).length;
    const report = await reconcileOnce(fx.deps(), { dryRun: true });
    expect(report.decision?.add).toBe(2);
    expect(report.actions.filter((a) => a.kind === 'launch')).toHaveLength(2);
    expect(await fx.rows()).toEqual([]);
    expect(fx.vast.cloud.live()).toHaveLength(0);
    expect((await fx.audit()).length).toBe(auditBefore);
  });

  it('does nothing while another runner holds the reconcile lock', async () => {
    await fx.direct.set(RECONCILE_LOCK_KEY, 'someone-else', 'PX', 60_000);
    fx.next = add(1);
    const report = await reconcileOnce(fx.deps());
    expect(report.ran).toBe(false);
    expect(await fx.rows()).toEqual([]);
    expect(await fx.direct.get(RECONCILE_LOCK_KEY)).toBe('someone-else');
  });

  it('with the real autoscaler: an empty fleet grows to the minimum and the policy memory is kept in Redis', async () => {
    const policy = createAutoscalerPolicy({
      config: { ...DEFAULT_AUTOSCALER_CONFIG, minReplicas: 2 },
      redis: fx.redis,
    });
    const report = await reconcileOnce(fx.deps({ policy }));
    expect(report.decision).toMatchObject({ desired: 2, add: 2 });
    expect((await fx.rows()).filter((r) => r['status'] === 'booting')).toHaveLength(2);
    expect(await fx.direct.exists(AUTOSCALER_STATE_KEY)).toBe(1);
    // Booting hosts are capacity already coming: the next pass does not launch again.
    const second = await reconcileOnce(fx.deps({ policy }));
    expect(second.decision?.add).toBe(0);
    expect(fx.vast.cloud.live()).toHaveLength(2);
  });

  it('leaves the registry record of an origin it does not manage alone', async () => {
    await fx.register('not-ours');
    await reconcileOnce(fx.deps());
    expect(await fx.direct.exists(originKey('gpu-not-ours'))).toBe(1);
  });
});

import type { Database } from '../../drizzle/client/types.ts';
import { appendAudit } from '../../drizzle/queries/audit.ts';
import {
  type InstanceRow,
  type InstanceStatus,
  insertRequested,
  listLiveInstances,
  markLaunched,
  markStatus,
} from '../../drizzle/queries/instances.ts';
import { DEFAULT_ORIGIN_TTL_MS, type OriginRecord } from '../../shared/fleet/origin-record.ts';
import { heartbeatOrigin, listLiveOrigins } from '../../shared/fleet/registry.ts';
import type { ScaleDecision } from './autoscaler/policy.ts';
import {
  type ControlRedis,
  DRAIN_KEY_PREFIX,
  type DrainMarker,
  type FleetSnapshot,
  type ManagedInstance,
  originIdFor,
  RECONCILE_LOCK_KEY,
  type ScalingPolicy,
} from './fleet-state.ts';
import { placementOrder } from './placement.ts';
import { type Failover, isFailoverError } from './providers/failover.ts';
import type { ProviderInstance } from './providers/types.ts';

/**
 * One reconcile pass: observe (gpu_instances, the registry, every provider's `list()`), settle each instance's
 * state (ready, boot timeout, gone or failed at the provider, drain finished), ask the scaling policy, apply
 * (launch through failover, drain), and write the decision with its inputs to the audit log. Dependencies
 * are injected; the same function backs the Worker's Cron Trigger and `npm run cli -- fleet reconcile`.
 * A Redis lock keeps two runners (cron and an operator's CLI) from launching twice for one decision.
 */
export interface ReconcileDeps {
  db: Database;
  redis: ControlRedis;
  failover: Failover;
  policy: ScalingPolicy;
  /** Epoch ms. */
  now: () => number;
  host: { image: string; gpuType: string; region?: string; diskGb: number; env: Record<string, string> };
  bootTimeoutMs: number;
  drainTimeoutMs: number;
  actor?: string;
  newToken?: () => string;
  /**
   * Most of the fleet one provider may hold after a launch (0–1]: a provider over it is tried last, so losing
   * any one provider costs at most that share of capacity (the simulator's outage result depends on it).
   * 1 (default) is plain configured order.
   */
  maxProviderShare?: number;
}

export interface ReconcileAction {
  kind: 'launch' | 'launch_failed' | 'ready' | 'drain' | 'terminate' | 'mark';
  instanceId: string | null;
  provider?: string;
  reason: string;
}

export interface ReconcileReport {
  dryRun: boolean;
  nowMs: number;
  /** False when another runner held the lock; nothing was done. */
  ran: boolean;
  decision: ScaleDecision | null;
  actions: ReconcileAction[];
  counts: {
    launched: number;
    launchFailed: number;
    bootTimeouts: number;
    terminated: number;
    orphans: number;
  };
  providers: { name: string; breaker: string; listed: number | null; error?: string }[];
}

const LIVE: InstanceStatus[] = ['requested', 'booting', 'ready', 'draining'];

function idle(origin: OriginRecord | null): boolean {
  if (!origin) return true;
  const queued = Object.values(origin.load.queueDepth).reduce((a, b) => a + b, 0);
  return origin.load.inflight === 0 && queued === 0;
}

export async function reconcileOnce(
  deps: ReconcileDeps,
  options: { dryRun?: boolean } = {},
): Promise<ReconcileReport> {
  const dryRun = options.dryRun ?? false;
  const nowMs = deps.now();
  const actor = deps.actor ?? 'control-plane';
  const report: ReconcileReport = {
    dryRun,
    nowMs,
    ran: false,
    decision: null,
    actions: [],
    counts: { launched: 0, launchFailed: 0, bootTimeouts: 0, terminated: 0, orphans: 0 },
    providers: [],
  };
  const lockToken = crypto.randomUUID();
  if (!dryRun) {
    const got = await deps.redis.set(RECONCILE_LOCK_KEY, lockToken, { nx: true, px: 120_000 });
    if (got === null) return report;
  }
  report.ran = true;
  try {
    await pass(deps, report, nowMs, actor, dryRun);
  } finally {
    if (!dryRun && (await deps.redis.get<string>(RECONCILE_LOCK_KEY)) === lockToken) {
      await deps.redis.del(RECONCILE_LOCK_KEY);
    }
  }
  return report;
}

async function pass(
  deps: ReconcileDeps,
  report: ReconcileReport,
  nowMs: number,
  actor: string,
  dryRun: boolean,
): Promise<void> {
  const { db, failover } = deps;
  const act = (a: ReconcileAction) => report.actions.push(a);
  const rows = await listLiveInstances(db);
  const origins = await listLiveOrigins(deps.redis, nowMs);

  // Provider view: instances carrying our label, per provider; null where the provider could not be read.
  const listed = new Map<string, ProviderInstance[] | null>();
  for (const adapter of failover.providers()) {
    try {
      const instances = await failover.call(adapter.name, (a) => a.list());
      listed.set(adapter.name, instances);
      report.providers.push({ name: adapter.name, breaker: '', listed: instances.length });
    } catch (err) {
      listed.set(adapter.name, null);
      const error = err instanceof Error ? err.message : String(err);
      report.providers.push({ name: adapter.name, breaker: '', listed: null, error });
    }
  }
  const originOf = (row: InstanceRow) =>
    origins.find((o) => o.instanceId === row.id) ?? origins.find((o) => o.id === originIdFor(row.id)) ?? null;

  async function terminate(row: InstanceRow, status: 'terminated' | 'failed', reason: string) {
    act({ kind: 'terminate', instanceId: row.id, provider: row.provider, reason });
    report.counts.terminated += 1;
    if (dryRun) return;
    if (row.providerInstanceId && row.provider !== 'pending') {
      await failover.call(row.provider, (a) => a.terminate(row.providerInstanceId!));
    }
    await markStatus(db, row.id, status, nowMs, status === 'failed' ? reason : undefined);
    await appendAudit(db, {
      actor,
      action: 'instance.stopped',
      target: `instance:${row.id}`,
      details: { provider: row.provider, providerInstanceId: row.providerInstanceId, reason },
    });
    row.status = status;
  }

  async function mark(row: InstanceRow, status: InstanceStatus, reason: string) {
    act({ kind: status === 'ready' ? 'ready' : 'mark', instanceId: row.id, provider: row.provider, reason });
    if (!dryRun) await markStatus(db, row.id, status, nowMs, status === 'failed' ? reason : undefined);
    row.status = status;
  }

  // 1. Settle each live row against what the provider and the registry say.
  for (const row of rows) {
    const providerList = listed.get(row.provider);
    const found =
      providerList?.find((i) => i.clientToken === row.clientToken) ??
      (row.status === 'requested'
        ? [...listed.values()].flatMap((l) => l ?? []).find((i) => i.clientToken === row.clientToken)
        : undefined);
    const age = nowMs - row.launchedAt;
    if (row.status === 'requested') {
      if (found) {
        // A previous pass died between the provider's answer and the UPDATE: adopt the host.
        act({ kind: 'mark', instanceId: row.id, provider: found.provider, reason: 'adopted launched host' });
        if (!dryRun) await markLaunched(db, row.id, { ...found, provider: found.provider });
        Object.assign(row, {
          status: 'booting',
          provider: found.provider,
          providerInstanceId: found.providerInstanceId,
        });
      } else if (age > deps.bootTimeoutMs) {
        await mark(row, 'failed', 'launch never reached a provider');
      }
      continue;
    }
    if (row.status === 'terminating') {
      await terminate(row, 'terminated', 'terminate retried');
      continue;
    }
    if (providerList && !found) {
      await mark(row, 'terminated', 'gone at the provider');
      continue;
    }
    if (found?.status === 'failed') {
      await terminate(row, 'failed', 'host failed at the provider');
      continue;
    }
    if (found?.status === 'terminated') {
      await mark(row, 'terminated', 'terminated at the provider');
      continue;
    }
    const origin = originOf(row);
    if (row.status === 'booting') {
      if (origin?.status === 'ready') await mark(row, 'ready', `origin ${origin.id} registered`);
      else if (age > deps.bootTimeoutMs) {
        report.counts.bootTimeouts += 1;
        await terminate(row, 'failed', `boot timeout: not ready after ${Math.round(age / 1000)} s`);
      }
    } else if (row.status === 'draining') {
      const marker = await deps.redis.get<DrainMarker>(
        `${DRAIN_KEY_PREFIX}${origin?.id ?? originIdFor(row.id)}`,
      );
      if (idle(origin)) await terminate(row, 'terminated', 'drained: idle');
      else if (!marker || nowMs >= marker.deadlineAt)
        await terminate(row, 'terminated', 'drain deadline passed');
    }
  }

  // 2. Hosts with our label that no live row owns (a launch that timed out at one provider before failover
  // moved on, or a row already ended): they cost money and serve nobody.
  for (const [provider, instances] of listed) {
    for (const inst of instances ?? []) {
      if (inst.status === 'terminated') continue;
      const owner = rows.find((r) => r.clientToken === inst.clientToken && LIVE.includes(r.status));
      if (owner && owner.provider === provider) continue;
      report.counts.orphans += 1;
      act({ kind: 'terminate', instanceId: null, provider, reason: `orphan ${inst.providerInstanceId}` });
      if (!dryRun) await failover.call(provider, (a) => a.terminate(inst.providerInstanceId));
    }
  }

  // 3. Decide.
  const breakers = failover.breakerStates();
  for (const p of report.providers) p.breaker = breakers[p.name] ?? 'closed';
  const live = rows.filter((r) => LIVE.includes(r.status));
  const snapshot: FleetSnapshot = {
    nowMs,
    origins,
    instances: live.map(
      (r): ManagedInstance => ({
        id: r.id,
        provider: r.provider,
        status: r.status as ManagedInstance['status'],
        launchedAtMs: r.launchedAt,
        readyAtMs: r.readyAt,
        hourlyCostUsd: r.hourlyCostUsd,
        origin: originOf(r),
      }),
    ),
    providers: report.providers.map((p) => ({
      name: p.name,
      breaker: breakers[p.name] ?? 'closed',
      reachable: p.listed !== null,
    })),
  };
  const decision = await deps.policy(snapshot);
  report.decision = decision;

  // 4. Apply: drains first (they free nothing at once, but never wait behind slow launches), then launches.
  for (const id of decision.drain) {
    const row = live.find((r) => r.id === id);
    if (!row || row.status === 'draining') continue;
    const origin = originOf(row);
    if (!origin) {
      await terminate(row, 'terminated', 'drained before it registered');
      continue;
    }
    act({ kind: 'drain', instanceId: row.id, provider: row.provider, reason: decision.reason });
    if (dryRun) continue;
    const marker: DrainMarker = {
      instanceId: row.id,
      requestedAt: nowMs,
      deadlineAt: nowMs + deps.drainTimeoutMs,
    };
    await deps.redis.set(`${DRAIN_KEY_PREFIX}${origin.id}`, JSON.stringify(marker), {
      px: deps.drainTimeoutMs + 600_000,
    });
    // Routers skip a draining record at once; the origin's own heartbeat may rewrite it until it drains itself.
    await heartbeatOrigin(
      deps.redis,
      { ...origin, status: 'draining' },
      { ttlMs: DEFAULT_ORIGIN_TTL_MS, nowMs },
    );
    await markStatus(db, row.id, 'draining', nowMs);
    row.status = 'draining';
  }
  // Placement: configured order is the preference (rank as cost); spread keeps any one provider under its share.
  const providerNames = failover.providers().map((p) => p.name);
  const serving = (r: { status: string }) => r.status === 'booting' || r.status === 'ready';
  for (let i = 0; i < decision.add; i++) {
    const clientToken = (deps.newToken ?? (() => crypto.randomUUID()))();
    if (dryRun) {
      act({ kind: 'launch', instanceId: null, reason: decision.reason });
      continue;
    }
    const row = await insertRequested(db, { clientToken, gpuType: deps.host.gpuType, nowMs });
    try {
      const live = rows.filter(serving);
      const order = placementOrder(
        providerNames.map((name, rank) => ({
          name,
          hourlyCostUsd: rank,
          running: live.filter((r) => r.provider === name).length,
        })),
        live.length + 1,
        deps.maxProviderShare ?? 1,
      );
      const outcome = await failover.launch(
        {
          clientToken,
          gpuType: deps.host.gpuType,
          region: deps.host.region,
          image: deps.host.image,
          diskGb: deps.host.diskGb,
          env: { ...deps.host.env, ORIGIN_ID: originIdFor(row.id), ORIGIN_INSTANCE_ID: row.id },
        },
        { order },
      );
      const inst = outcome.instance;
      await markLaunched(db, row.id, { ...inst, provider: outcome.provider });
      rows.push({ ...row, provider: outcome.provider, status: 'booting' });
      report.counts.launched += 1;
      act({ kind: 'launch', instanceId: row.id, provider: outcome.provider, reason: decision.reason });
      await appendAudit(db, {
        actor,
        action: 'instance.started',
        target: `instance:${row.id}`,
        details: {
          provider: outcome.provider,
          providerInstanceId: inst.providerInstanceId,
          region: inst.region,
          gpuType: deps.host.gpuType,
          hourlyCostUsd: inst.hourlyCostUsd,
          attempts: outcome.attempts,
        },
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      await markStatus(db, row.id, 'failed', nowMs, reason);
      report.counts.launchFailed += 1;
      act({ kind: 'launch_failed', instanceId: row.id, reason });
      // Every provider refused this one; the next launch in the same pass would meet the same answers.
      if (isFailoverError(err)) break;
      throw err;
    }
  }

  if (!dryRun) {
    await appendAudit(db, {
      actor,
      action: 'fleet.decision',
      target: 'fleet',
      details: {
        decision,
        inputs: {
          origins: origins.map((o) => ({
            id: o.id,
            status: o.status,
            inflight: o.load.inflight,
            queueDepth: o.load.queueDepth,
            instanceId: o.instanceId,
          })),
          instances: snapshot.instances.map((m) => ({ id: m.id, provider: m.provider, status: m.status })),
          providers: snapshot.providers,
        },
        actions: report.actions,
        counts: report.counts,
      },
    });
  }
}

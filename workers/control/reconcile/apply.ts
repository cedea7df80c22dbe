import { appendAudit } from '../../../drizzle/queries/audit.ts';
import {
  type InstanceRow,
  insertRequested,
  markLaunched,
  markStatus,
} from '../../../drizzle/queries/instances.ts';
import { DEFAULT_ORIGIN_TTL_MS } from '../../../shared/fleet/origin-record.ts';
import { heartbeatOrigin } from '../../../shared/fleet/registry.ts';
import { DRAIN_KEY_PREFIX } from '../../../shared/redis-keys.ts';
import type { ScaleDecision } from '../autoscaler/policy.ts';
import { type DrainMarker, originIdFor } from '../fleet-state.ts';
import { placementOrder } from '../placement.ts';
import { isFailoverError } from '../providers/failover.ts';
import { act, originOf, type PassState, terminateInstance } from './pass-state.ts';

/**
 * Apply the drains, before the launches: they free nothing at once, but never wait behind slow launches. A
 * host that never registered has no work to finish and is terminated at once.
 */
export async function applyDrains(
  state: PassState,
  decision: ScaleDecision,
  live: InstanceRow[],
): Promise<void> {
  const { deps, nowMs } = state;
  for (const id of decision.drain) {
    const row = live.find((r) => r.id === id);
    if (!row || row.status === 'draining') continue;
    const origin = originOf(state, row);
    if (!origin) {
      await terminateInstance(state, row, 'terminated', 'drained before it registered');
      continue;
    }
    act(state, { kind: 'drain', instanceId: row.id, provider: row.provider, reason: decision.reason });
    if (state.dryRun) continue;
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
    await markStatus(deps.db, row.id, 'draining', nowMs);
    row.status = 'draining';
  }
}

/**
 * Apply the launches: a requested row first (a crash mid-launch leaves its token to find), then the failover
 * across providers in placement order.
 */
export async function applyLaunches(state: PassState, decision: ScaleDecision): Promise<void> {
  const { deps, rows, nowMs } = state;
  const { db, failover } = deps;
  // Placement: configured order is the preference (rank as cost); spread keeps any one provider under its share.
  const providerNames = failover.providers().map((p) => p.name);
  const serving = (r: { status: string }) => r.status === 'booting' || r.status === 'ready';
  for (let i = 0; i < decision.add; i++) {
    const clientToken = (deps.newToken ?? (() => crypto.randomUUID()))();
    if (state.dryRun) {
      act(state, { kind: 'launch', instanceId: null, reason: decision.reason });
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
      state.report.counts.launched += 1;
      act(state, { kind: 'launch', instanceId: row.id, provider: outcome.provider, reason: decision.reason });
      await appendAudit(db, {
        actor: state.actor,
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
      state.report.counts.launchFailed += 1;
      act(state, { kind: 'launch_failed', instanceId: row.id, reason });
      // Every provider refused this one; the next launch in the same pass would meet the same answers.
      if (isFailoverError(err)) break;
      throw err;
    }
  }
}

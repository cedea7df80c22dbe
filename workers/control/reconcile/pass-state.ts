import type { Database } from '../../../drizzle/client/types.ts';
import { appendAudit } from '../../../drizzle/queries/audit.ts';
import {
  type InstanceRow,
  type InstanceStatus,
  markStatus,
  PENDING,
} from '../../../drizzle/queries/instances.ts';
import type { OriginRecord } from '../../../shared/fleet/origin-record.ts';
import type { ScaleDecision } from '../autoscaler/policy.ts';
import { type ControlRedis, originIdFor, type ScalingPolicy } from '../fleet-state.ts';
import type { Failover } from '../providers/failover.ts';
import type { ProviderInstance } from '../providers/types.ts';

/**
 * What a reconcile pass depends on (injected: the same pass backs the Worker's Cron Trigger and
 * `npm run cli -- fleet reconcile`), what it reports, the fleet as its first step observed it (which the later
 * steps share and update), and the actions on an instance that more than one step takes.
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

export interface PassState {
  deps: ReconcileDeps;
  report: ReconcileReport;
  nowMs: number;
  actor: string;
  dryRun: boolean;
  /** Live gpu_instances rows; the steps update their status in place, and launches are appended. */
  rows: InstanceRow[];
  origins: OriginRecord[];
  /** Instances carrying our label, per provider; null where the provider could not be read. */
  listed: Map<string, ProviderInstance[] | null>;
}

export const LIVE: InstanceStatus[] = ['requested', 'booting', 'ready', 'draining'];

export function act(state: PassState, action: ReconcileAction): void {
  state.report.actions.push(action);
}

/** The registry record of a row's host: by the instance id it registered with, else by its origin id. */
export function originOf(state: PassState, row: InstanceRow): OriginRecord | null {
  return (
    state.origins.find((o) => o.instanceId === row.id) ??
    state.origins.find((o) => o.id === originIdFor(row.id)) ??
    null
  );
}

/** Ends a row: terminates its host at the provider (if it has one), records the end and audits it. */
export async function terminateInstance(
  state: PassState,
  row: InstanceRow,
  status: 'terminated' | 'failed',
  reason: string,
): Promise<void> {
  const { db, failover } = state.deps;
  act(state, { kind: 'terminate', instanceId: row.id, provider: row.provider, reason });
  state.report.counts.terminated += 1;
  if (state.dryRun) return;
  if (row.providerInstanceId && row.provider !== PENDING) {
    await failover.call(row.provider, (a) => a.terminate(row.providerInstanceId!));
  }
  await markStatus(db, row.id, status, state.nowMs, status === 'failed' ? reason : undefined);
  await appendAudit(db, {
    actor: state.actor,
    action: 'instance.stopped',
    target: `instance:${row.id}`,
    details: { provider: row.provider, providerInstanceId: row.providerInstanceId, reason },
  });
  row.status = status;
}

/** Records a status the row reached without any call to the provider. */
export async function markInstance(
  state: PassState,
  row: InstanceRow,
  status: InstanceStatus,
  reason: string,
): Promise<void> {
  act(state, {
    kind: status === 'ready' ? 'ready' : 'mark',
    instanceId: row.id,
    provider: row.provider,
    reason,
  });
  if (!state.dryRun)
    await markStatus(state.deps.db, row.id, status, state.nowMs, status === 'failed' ? reason : undefined);
  row.status = status;
}

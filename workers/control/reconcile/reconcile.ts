import { appendAudit } from '../../../drizzle/queries/audit.ts';
import { RECONCILE_LOCK_KEY } from '../../../shared/redis-keys.ts';
import { applyDrains, applyLaunches } from './apply.ts';
import { type Decided, decide } from './decide.ts';
import { observeFleet } from './observe.ts';
import { terminateOrphans } from './orphans.ts';
import type { PassState, ReconcileDeps, ReconcileReport } from './pass-state.ts';
import { settleInstances } from './settle.ts';

/**
 * One reconcile pass: observe (gpu_instances, the registry, every provider's `list()`), settle each instance's
 * state (ready, boot timeout, gone or failed at the provider, drain finished), terminate orphaned hosts, ask
 * the scaling policy, apply (drain, launch through failover), and write the decision with its inputs to the
 * audit log. Dependencies are injected; the same function backs the Worker's Cron Trigger and
 * `npm run cli -- fleet reconcile`. A Redis lock keeps two runners (cron and an operator's CLI) from launching
 * twice for one decision.
 */
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
    await pass(deps, report, { nowMs, actor, dryRun });
  } finally {
    if (!dryRun && (await deps.redis.get<string>(RECONCILE_LOCK_KEY)) === lockToken) {
      await deps.redis.del(RECONCILE_LOCK_KEY);
    }
  }
  return report;
}

/** The steps of one pass, in order; they share what the first one observed. */
async function pass(
  deps: ReconcileDeps,
  report: ReconcileReport,
  options: { nowMs: number; actor: string; dryRun: boolean },
): Promise<void> {
  const state = await observeFleet(deps, report, options);
  await settleInstances(state);
  await terminateOrphans(state);
  const decided = await decide(state);
  await applyDrains(state, decided.decision, decided.live);
  await applyLaunches(state, decided.decision);
  if (!options.dryRun) await auditDecision(state, decided);
}

/** The decision, what it was decided on, and what the pass did about it, as one `fleet.decision` audit row. */
async function auditDecision(state: PassState, { decision, snapshot }: Decided): Promise<void> {
  await appendAudit(state.deps.db, {
    actor: state.actor,
    action: 'fleet.decision',
    target: 'fleet',
    details: {
      decision,
      inputs: {
        origins: state.origins.map((o) => ({
          id: o.id,
          status: o.status,
          inflight: o.load.inflight,
          queueDepth: o.load.queueDepth,
          instanceId: o.instanceId,
        })),
        instances: snapshot.instances.map((m) => ({ id: m.id, provider: m.provider, status: m.status })),
        providers: snapshot.providers,
      },
      actions: state.report.actions,
      counts: state.report.counts,
    },
  });
}

import type { InstanceRow } from '../../../drizzle/queries/instances.ts';
import type { ScaleDecision } from '../autoscaler/policy.ts';
import type { FleetSnapshot, ManagedInstance } from '../fleet-state.ts';
import { LIVE, originOf, type PassState } from './pass-state.ts';

export interface Decided {
  decision: ScaleDecision;
  /** What the policy was shown, for the audit log. */
  snapshot: FleetSnapshot;
  /** The live rows it was shown, which drains are picked from. */
  live: InstanceRow[];
}

/** Decide: the scaling policy's answer for the settled fleet, with the breaker states after this pass's calls. */
export async function decide(state: PassState): Promise<Decided> {
  const { failover } = state.deps;
  const breakers = failover.breakerStates();
  for (const p of state.report.providers) p.breaker = breakers[p.name] ?? 'closed';
  const live = state.rows.filter((r) => LIVE.includes(r.status));
  const snapshot: FleetSnapshot = {
    nowMs: state.nowMs,
    origins: state.origins,
    instances: live.map(
      (r): ManagedInstance => ({
        id: r.id,
        provider: r.provider,
        status: r.status as ManagedInstance['status'],
        launchedAtMs: r.launchedAt,
        readyAtMs: r.readyAt,
        hourlyCostUsd: r.hourlyCostUsd,
        origin: originOf(state, r),
      }),
    ),
    providers: state.report.providers.map((p) => ({
      name: p.name,
      breaker: breakers[p.name] ?? 'closed',
      reachable: p.listed !== null,
    })),
  };
  const decision = await state.deps.policy(snapshot);
  state.report.decision = decision;
  return { decision, snapshot, live };
}

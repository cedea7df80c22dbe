import type { AutoscalerConfig } from '../../shared/fleet/autoscaler-config.ts';
import { simulate } from './engine.ts';
import { autoscalerPolicy, staticPolicy } from './policies.ts';
import { meanInflight, replicaRate } from './queue-model.ts';
import type { SimResult } from './sim-result.ts';
import { rateAt, type Trace } from './trace.ts';

/** Replicas the policy's own sizing gives for `rate` req/s: the fewest whose mean in-flight meets the target. */
function replicasFor(trace: Trace, rate: number, target: number): number {
  const model = { slots: trace.instance.slots, serviceMs: trace.instance.serviceMs };
  let n = 1;
  while (n < 10_000 && (rate / n >= replicaRate(model) || meanInflight(model, rate / n) > target)) n++;
  return n;
}

export interface ScenarioResult {
  autoscaler: SimResult;
  /** A fixed fleet sized for the trace's peak with the same per-replica target (and replaced when lost). */
  static: SimResult;
  staticReplicas: number;
  costRatio: number;
  missRatio: number;
  targets: { name: string; met: boolean; detail: string }[];
}

export function misses(r: SimResult): number {
  return r.overSlo + r.rejected.queueFull + r.rejected.timedOut + r.rejected.noOrigin;
}

export async function runScenario(trace: Trace, config: AutoscalerConfig): Promise<ScenarioResult> {
  const peak = Math.max(...trace.rates);
  const staticReplicas = replicasFor(trace, peak, config.targetInflightPerReplica);
  const initial = Math.max(
    config.minReplicas,
    replicasFor(trace, rateAt(trace, 0), config.targetInflightPerReplica),
  );
  const autoscaler = await simulate(trace, autoscalerPolicy(config), {
    policyName: 'autoscaler',
    initialReplicas: initial,
  });
  const fixed = await simulate(trace, staticPolicy(staticReplicas), {
    policyName: `static-${staticReplicas}`,
    initialReplicas: staticReplicas,
  });
  const costRatio = autoscaler.costUsd / fixed.costUsd;
  const missRatio = misses(autoscaler) / autoscaler.requests;
  const rejected =
    autoscaler.rejected.queueFull + autoscaler.rejected.timedOut + autoscaler.rejected.noOrigin;
  const targets: ScenarioResult['targets'] = [];
  if (trace.name === 'diurnal') {
    targets.push({
      name: 'cost ≤ 0.6 × static fleet sized for the peak',
      met: costRatio <= 0.6,
      detail: `${costRatio.toFixed(3)} ($${autoscaler.costUsd.toFixed(2)} vs $${fixed.costUsd.toFixed(2)})`,
    });
    targets.push({
      name: '≤ 0.1 % of requests over the SLO (late, shed or timed out)',
      met: missRatio <= 0.001,
      detail: `${(missRatio * 100).toFixed(4)} %`,
    });
  }
  if (trace.outages.length > 0) {
    targets.push({
      name: 'no request lost beyond those on the failed hosts',
      met: rejected < 0.5,
      detail: `${Math.round(rejected)} shed/timed out/unroutable; ${Math.round(autoscaler.lostOnFailedHosts)} were on the failed hosts`,
    });
  }
  return { autoscaler, static: fixed, staticReplicas, costRatio, missRatio, targets };
}

import type { AutoscalerConfig } from '../../../shared/fleet/autoscaler-config.ts';
import { type InstanceView, pickDrains } from './drain-picker.ts';
import { type LoadSample, lastActiveAt, pruneSamples, windowMean } from './load-window.ts';
import { type ScaleEvent, scaleDownLimit, scaleUpLimit } from './scale-limits.ts';

export type { InstanceView } from './drain-picker.ts';
export type { LoadSample } from './load-window.ts';

/** A provider as placement sees it now. */
export interface ProviderView {
  name: string;
  /** False when its breaker is open or it is known to be down: no launches go there. */
  available: boolean;
  /** Typical time from launch to ready; needed for scale to zero (the cold-start budget). */
  bootMs?: number;
  /** How many more instances it may run (capacity or quota); absent = unbounded. */
  remaining?: number;
}

/** What the policy remembers between decisions (JSON-serialisable; the runner stores it). */
export interface AutoscalerMemory {
  /** Raw recommendations, for the HPA stabilisation windows. */
  recommendations: { at: number; replicas: number }[];
  /** Changes made, for the rate limits. */
  events: ScaleEvent[];
  /** Last time the panic condition held; null when not panicking. */
  panicAt: number | null;
  /** Last time any load was seen; null when never. */
  activeAt: number | null;
}

export const INITIAL_MEMORY: AutoscalerMemory = {
  recommendations: [],
  events: [],
  panicAt: null,
  activeAt: null,
};

export interface AutoscalerInput {
  /** Milliseconds on the caller's clock; every time in the input is on the same clock. */
  now: number;
  /** Fleet load samples over (at least) the stable window. */
  samples: readonly LoadSample[];
  instances: readonly InstanceView[];
  providers: readonly ProviderView[];
  memory: AutoscalerMemory;
}

/** The numbers behind a decision, for the audit log. */
export interface ScaleInputs {
  ready: number;
  booting: number;
  draining: number;
  stableLoad: number;
  panicLoad: number;
  recommended: number;
}

/**
 * What a scaling policy decides (the autoscaler here, or the simulator's static fleet), and what the reconcile
 * pass and the simulator apply.
 */
export interface ScaleDecision {
  /** Replicas the fleet should have (ready + booting). */
  desired: number;
  /** Instances to launch now (placement across providers is the failover's job). */
  add: number;
  /** Instances to drain now (gpu_instances ids in the reconciler): booting or idle ready ones only. */
  drain: string[];
  panic: boolean;
  /** One line a person can read in the audit log. */
  reason: string;
  /** The numbers behind the decision, copied into the audit log; a static fleet has none. */
  inputs?: ScaleInputs;
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/**
 * The autoscaling policy: pure and clock-free (time arrives as `now`, state as `memory`), so the cron runner,
 * the CLI and the simulator run the same code. Returns the decision with its inputs, and the `memory` to feed
 * back on the next call.
 *
 * 1. Load: time-weighted mean in-flight over the stable window, and over the short panic window (Knative).
 * 2. Recommendation: ceil(load ÷ target per replica). Booting instances count as capacity already coming, so
 *    a slow boot is never answered with a second launch.
 * 3. Panic (Knative): when panic-window load ≥ threshold × target × ready replicas, the short window drives
 *    scale-up, no up-stabilisation applies and the fleet never shrinks; panic ends one stable window after
 *    the condition last held.
 * 4. Otherwise the HPA stabilisation windows: grow only to the lowest recommendation of the up-window, shrink
 *    only to the highest of the down-window.
 * 5. HPA rate limits per period (percent or absolute, `select` max/min), then min/max replicas; a fleet at
 *    zero with load bypasses windows and limits (activation).
 * 6. Scale to zero (optional) only after `idleGraceMs` without load and only if an available provider boots
 *    within `coldStartBudgetMs`; otherwise the floor is max(1, minReplicas).
 * 7. Launches are capped by what the available providers can still take (none when every breaker is open);
 *    drains take booting or idle instances only (see `pickDrains`), never one with work, never a draining one.
 */
export function decideScale(
  input: AutoscalerInput,
  config: AutoscalerConfig,
): ScaleDecision & { inputs: ScaleInputs; memory: AutoscalerMemory } {
  const { now, instances } = input;
  const ready = instances.filter((i) => i.state === 'ready');
  const booting = instances.filter((i) => i.state === 'booting');
  const draining = instances.filter((i) => i.state === 'draining');
  const current = ready.length + booting.length;
  const target = config.targetInflightPerReplica;
  const why: string[] = [];

  const instantLoad = ready.reduce((s, i) => s + Math.max(0, i.inflight), 0);
  const stableLoad = windowMean(input.samples, now, config.stableWindowMs) ?? instantLoad;
  const panicLoad = windowMean(input.samples, now, config.panicWindowMs) ?? instantLoad;
  const seenActive = lastActiveAt(input.samples, now);
  const activeAt =
    seenActive === null ? input.memory.activeAt : Math.max(seenActive, input.memory.activeAt ?? seenActive);

  const stableWant = Math.max(0, Math.ceil(stableLoad / target - 1e-9));
  const panicWant = Math.max(0, Math.ceil(panicLoad / target - 1e-9));

  // Panic (Knative): judged against ready capacity, at least one replica's worth.
  const overPanic = panicLoad > 0 && panicLoad >= config.panicThreshold * target * Math.max(1, ready.length);
  let panicAt = input.memory.panicAt;
  if (overPanic) panicAt = now;
  else if (panicAt !== null && now - panicAt >= config.stableWindowMs) panicAt = null;
  const panic = panicAt !== null;

  const recommended = panic ? Math.max(stableWant, panicWant) : stableWant;
  why.push(
    panic
      ? `panic: ${fmt(panicLoad)} in flight over ${config.panicWindowMs / 1000}s vs ${ready.length} ready × ${fmt(target)}`
      : `load ${fmt(stableLoad)} in flight over ${config.stableWindowMs / 1000}s`,
    `→ ${recommended} at ${fmt(target)} per replica`,
  );

  const horizon = Math.max(config.scaleUpStabilizationMs, config.scaleDownStabilizationMs);
  const recommendations = [
    ...input.memory.recommendations.filter((r) => r.at > now - horizon && r.at < now),
    { at: now, replicas: recommended },
  ];

  let desired: number;
  const activation = current === 0 && recommended > 0;
  if (activation) {
    desired = recommended;
    why.push('activation from zero');
  } else if (panic) {
    desired = Math.max(current, recommended);
  } else {
    const inUp = recommendations.filter((r) => r.at > now - config.scaleUpStabilizationMs || r.at === now);
    const inDown = recommendations.filter(
      (r) => r.at > now - config.scaleDownStabilizationMs || r.at === now,
    );
    const upTo = Math.min(...inUp.map((r) => r.replicas));
    const downTo = Math.max(...inDown.map((r) => r.replicas));
    desired = current;
    if (desired < upTo) desired = upTo;
    if (desired > downTo) desired = downTo;
    if (desired !== recommended) why.push(`stabilised at ${desired}`);
  }

  if (!activation) {
    const upLimit = scaleUpLimit(current, input.memory.events, now, config.scaleUp);
    const downLimit = scaleDownLimit(current, input.memory.events, now, config.scaleDown);
    if (desired > upLimit) {
      desired = upLimit;
      why.push(`scale-up limited to ${upLimit}`);
    } else if (desired < downLimit) {
      desired = downLimit;
      why.push(`scale-down limited to ${downLimit}`);
    }
  }

  const available = input.providers.filter((p) => p.available);
  const idleLongEnough = activeAt === null || now - activeAt >= config.idleGraceMs;
  const fastestBoot = Math.min(...available.map((p) => p.bootMs ?? Number.POSITIVE_INFINITY));
  const mayReachZero = config.scaleToZero && idleLongEnough && fastestBoot <= config.coldStartBudgetMs;
  const floor = mayReachZero ? 0 : Math.max(1, config.minReplicas);
  if (desired < floor) desired = floor;
  if (desired > config.maxReplicas) {
    desired = config.maxReplicas;
    why.push(`max ${config.maxReplicas}`);
  }
  if (config.scaleToZero && desired === 0) why.push('idle: scaled to zero');
  else if (config.scaleToZero && recommended === 0 && !mayReachZero) {
    why.push(idleLongEnough ? 'no provider boots within the cold-start budget' : 'idle grace not over');
  }

  let add = 0;
  let drain: string[] = [];
  if (desired > current) {
    const room = available.reduce((s, p) => s + Math.max(0, p.remaining ?? Number.POSITIVE_INFINITY), 0);
    add = Math.min(desired - current, room);
    if (available.length === 0) why.push('no provider available');
    else if (add < desired - current) why.push(`providers can take only ${add}`);
  } else if (desired < current) {
    drain = pickDrains(instances, current - desired);
    if (drain.length < current - desired) why.push(`${current - desired - drain.length} busy kept`);
  }
  why.push(`+${add} −${drain.length}`);

  const events = [
    ...input.memory.events.filter(
      (e) => e.at > now - Math.max(config.scaleUp.periodMs, config.scaleDown.periodMs),
    ),
  ];
  if (add > 0) events.push({ at: now, delta: add });
  if (drain.length > 0) events.push({ at: now, delta: -drain.length });

  return {
    desired,
    add,
    drain,
    panic,
    reason: why.join('; '),
    memory: { recommendations, events, panicAt, activeAt },
    inputs: {
      ready: ready.length,
      booting: booting.length,
      draining: draining.length,
      stableLoad,
      panicLoad,
      recommended,
    },
  };
}

/** Samples the policy still needs at `now` (the caller keeps this many between decisions). */
export function retainSamples(
  samples: readonly LoadSample[],
  now: number,
  config: AutoscalerConfig,
): LoadSample[] {
  return pruneSamples(samples, now, config.stableWindowMs);
}

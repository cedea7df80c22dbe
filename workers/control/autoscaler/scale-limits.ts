import type { RateLimit } from '../../../shared/fleet/autoscaler-config.ts';

/** A change the autoscaler made: +n launched, −n drained, at a time on the caller's clock. */
export interface ScaleEvent {
  at: number;
  delta: number;
}

/**
 * The most replicas allowed now under the scale-up policy (Kubernetes HPA `behavior.scaleUp.policies`): the
 * count at the start of the period (current minus what was added within it) grows by at most `replicas`
 * (absolute) or `percent` (relative, rounded up); `select: 'max'` takes the larger allowance (HPA default),
 * `'min'` the smaller. An absolute allowance lets a fleet of zero or one grow, which a percentage cannot.
 */
export function scaleUpLimit(
  current: number,
  events: readonly ScaleEvent[],
  now: number,
  limit: RateLimit,
): number {
  const added = events
    .filter((e) => e.delta > 0 && e.at > now - limit.periodMs)
    .reduce((s, e) => s + e.delta, 0);
  const periodStart = Math.max(0, current - added);
  const byReplicas = periodStart + limit.replicas;
  const byPercent = Math.ceil(periodStart * (1 + limit.percent / 100));
  const allowed = limit.select === 'max' ? Math.max(byReplicas, byPercent) : Math.min(byReplicas, byPercent);
  return Math.max(current, allowed);
}

/**
 * The fewest replicas allowed now under the scale-down policy: the count at the start of the period (current
 * plus what was removed within it) shrinks by at most `replicas` or `percent` (rounded so the allowance never
 * exceeds the percentage); `'max'` takes the larger allowance, `'min'` the smaller.
 */
export function scaleDownLimit(
  current: number,
  events: readonly ScaleEvent[],
  now: number,
  limit: RateLimit,
): number {
  const removed = events
    .filter((e) => e.delta < 0 && e.at > now - limit.periodMs)
    .reduce((s, e) => s - e.delta, 0);
  const periodStart = current + removed;
  const byReplicas = periodStart - limit.replicas;
  const byPercent = Math.ceil(periodStart * (1 - limit.percent / 100));
  const allowed = limit.select === 'max' ? Math.min(byReplicas, byPercent) : Math.max(byReplicas, byPercent);
  return Math.min(current, Math.max(0, allowed));
}

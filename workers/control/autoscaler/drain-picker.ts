/** One instance as the autoscaler sees it. */
export interface InstanceView {
  id: string;
  /** `booting`: launched, not serving yet (capacity coming); `draining`: leaving, left alone. */
  state: 'booting' | 'ready' | 'draining';
  /** Requests running or queued on it now (from its heartbeat); booting instances have none. */
  inflight: number;
  provider?: string;
  hourlyCostUsd?: number;
  /** When it was launched, on the caller's clock. */
  launchedAt?: number;
}

/**
 * Which instances to take away when the fleet should shrink by `count`. Only instances without work are
 * eligible, so a drain never cuts a request short: booting ones first (they serve nobody yet; the latest
 * launched, furthest from ready, first), then idle ready ones, the most expensive first, then the newest.
 * Busy and draining instances are never picked, so fewer than `count` may come back.
 */
export function pickDrains(instances: readonly InstanceView[], count: number): string[] {
  if (count <= 0) return [];
  const booting = instances
    .filter((i) => i.state === 'booting')
    .sort((a, b) => (b.launchedAt ?? 0) - (a.launchedAt ?? 0) || a.id.localeCompare(b.id));
  const idle = instances
    .filter((i) => i.state === 'ready' && i.inflight <= 0)
    .sort(
      (a, b) =>
        (b.hourlyCostUsd ?? 0) - (a.hourlyCostUsd ?? 0) ||
        (b.launchedAt ?? 0) - (a.launchedAt ?? 0) ||
        a.id.localeCompare(b.id),
    );
  return [...booting, ...idle].slice(0, count).map((i) => i.id);
}

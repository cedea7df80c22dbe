import type { OriginRecord } from '../../shared/fleet/origin-record.ts';
import { type RegistryRedis, registerOrigin } from '../../shared/fleet/registry.ts';

/**
 * A stub origin's membership in the fleet registry, written as an origin's heartbeat writes it (the record and
 * its index entry every `intervalMs`, alive for eight intervals), serving model `m`. A failed write (Redis down)
 * is dropped and the next beat tries again, as the origin's does. Returns the function that stops it.
 */
export function registryHeartbeat(
  redis: RegistryRedis,
  origin: { id: string; url: string },
  intervalMs = 250,
): () => void {
  const record = (now: number): OriginRecord => ({
    id: origin.id,
    url: origin.url,
    region: 'local',
    status: 'ready',
    models: [{ name: 'm', versions: [] }],
    capacity: { maxInflight: 64 },
    load: { inflight: 0, queueDepth: {}, p50LatencyMs: null, gpuUtilization: null },
    startedAt: now,
    heartbeatAt: now,
    instanceId: null,
  });
  let stopped = false;
  const beat = () => {
    if (stopped) return;
    const now = Date.now();
    registerOrigin(redis, record(now), { ttlMs: intervalMs * 8, nowMs: now }).catch(() => {});
  };
  beat();
  const timer = setInterval(beat, intervalMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

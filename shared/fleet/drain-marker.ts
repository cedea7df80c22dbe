/**
 * Written when the reconciler drains a host, at `drainKey(originId)` (`shared/redis-keys.ts`). The reconciler
 * reads it back for the drain deadline; the origin's heartbeat watches it and drains itself (readiness off,
 * `draining` in the registry, queued and in-flight work finished, then deregistered and stopped).
 */
export interface DrainMarker {
  instanceId: string;
  requestedAt: number;
  deadlineAt: number;
}

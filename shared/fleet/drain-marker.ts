/**
 * Written when the reconciler drains a host: `SET aiserve:drain:<originId> <json> PX …`. The reconciler reads
 * it back for the drain deadline; the origin's heartbeat watches it and drains itself (readiness off,
 * `draining` in the registry, queued and in-flight work finished, then deregistered and stopped).
 */
export const DRAIN_KEY_PREFIX = 'aiserve:drain:';

export interface DrainMarker {
  instanceId: string;
  requestedAt: number;
  deadlineAt: number;
}

export function drainKey(originId: string): string {
  return `${DRAIN_KEY_PREFIX}${originId}`;
}

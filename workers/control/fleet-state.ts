import type { Redis } from '@upstash/redis';
import type { OriginRecord } from '../../shared/fleet/origin-record.ts';
import type { ScaleDecision } from './autoscaler/policy.ts';
import type { BreakerState } from './providers/breaker.ts';

/**
 * What one reconcile pass hands the scaling policy. The policy is injected (the pure autoscaler of
 * `autoscaler/policy.ts`, bound to its Redis state by `autoscaler/state.ts`) and answers with that module's
 * ScaleDecision; this file only fixes the shapes at the boundary.
 */
export interface ManagedInstance {
  /** gpu_instances.id; also the ORIGIN_INSTANCE_ID the host registers with. */
  id: string;
  provider: string;
  status: 'requested' | 'booting' | 'ready' | 'draining';
  launchedAtMs: number;
  readyAtMs: number | null;
  hourlyCostUsd: number | null;
  /** The host's registry record, once it has registered. */
  origin: OriginRecord | null;
}

export interface FleetSnapshot {
  nowMs: number;
  /** Every live origin in the registry, managed or not (static hosts count towards load). */
  origins: OriginRecord[];
  instances: ManagedInstance[];
  providers: { name: string; breaker: BreakerState; reachable: boolean }[];
}

export type ScalingPolicy = (snapshot: FleetSnapshot) => ScaleDecision | Promise<ScaleDecision>;

/** The Redis commands the reconciler uses (any @upstash/redis client). */
export type ControlRedis = Pick<Redis, 'multi' | 'pipeline' | 'mget' | 'get' | 'set' | 'del'>;

export type { DrainMarker } from '../../shared/fleet/drain-marker.ts';

export function originIdFor(instanceId: string): string {
  return `gpu-${instanceId}`;
}

import type { AutoscalerConfig } from '../../../shared/fleet/autoscaler-config.ts';
import { AUTOSCALER_STATE_KEY } from '../../../shared/redis-keys.ts';
import type { ControlRedis, FleetSnapshot, ScalingPolicy } from '../fleet-state.ts';
import {
  type AutoscalerMemory,
  decideScale,
  INITIAL_MEMORY,
  type InstanceView,
  type LoadSample,
  retainSamples,
} from './policy.ts';

/**
 * The reconcile runner's binding of the pure autoscaler (`decideScale`): it turns a FleetSnapshot into the
 * policy's input, and keeps what the policy must remember between runs (its memory and the load samples of
 * the look-back window) in Redis, since each Cron Trigger may run in a fresh isolate.
 */
interface StoredState {
  memory: AutoscalerMemory;
  samples: LoadSample[];
}

function originLoad(o: FleetSnapshot['origins'][number]): number {
  return o.load.inflight + Object.values(o.load.queueDepth).reduce((a, b) => a + b, 0);
}

/** The policy's view of the fleet: managed instances, plus hosts that registered without one (static). */
function autoscalerInstances(snapshot: FleetSnapshot): InstanceView[] {
  const managed = snapshot.instances.map(
    (i): InstanceView => ({
      id: i.id,
      // A requested row is a launch in flight: capacity coming, like a booting host.
      state: i.status === 'requested' ? 'booting' : i.status,
      inflight: i.origin ? originLoad(i.origin) : 0,
      provider: i.provider,
      hourlyCostUsd: i.hourlyCostUsd ?? undefined,
      launchedAt: i.launchedAtMs,
    }),
  );
  const owned = new Set(snapshot.instances.flatMap((i) => (i.origin ? [i.origin.id] : [])));
  const unmanaged = snapshot.origins
    .filter((o) => !owned.has(o.id))
    .map(
      (o): InstanceView => ({
        id: o.id,
        state: o.status === 'ready' ? 'ready' : 'draining',
        inflight: originLoad(o),
      }),
    );
  return [...managed, ...unmanaged];
}

export function createAutoscalerPolicy(options: {
  config: AutoscalerConfig;
  redis: ControlRedis;
  /** Dry runs decide from the stored state but leave it as it was. */
  persist?: boolean;
  /** Expected boot time per provider name (ms), for the scale-to-zero cold-start check. */
  bootMs?: Record<string, number>;
}): ScalingPolicy {
  return async (snapshot) => {
    const stored = (await options.redis.get<StoredState>(AUTOSCALER_STATE_KEY)) ?? {
      memory: INITIAL_MEMORY,
      samples: [],
    };
    const now = snapshot.nowMs;
    const load = snapshot.origins
      .filter((o) => o.status === 'ready')
      .reduce((sum, o) => sum + originLoad(o), 0);
    const samples = [...stored.samples.filter((s) => s.at < now), { at: now, inflight: load }];
    const decided = decideScale(
      {
        now,
        samples,
        instances: autoscalerInstances(snapshot),
        providers: snapshot.providers.map((p) => ({
          name: p.name,
          available: p.reachable && p.breaker !== 'open',
          bootMs: options.bootMs?.[p.name],
        })),
        memory: stored.memory,
      },
      options.config,
    );
    const { memory, ...decision } = decided;
    if (options.persist ?? true) {
      const next: StoredState = { memory, samples: retainSamples(samples, now, options.config) };
      await options.redis.set(AUTOSCALER_STATE_KEY, JSON.stringify(next));
    }
    return decision;
  };
}

import type { OriginRecord } from '../../shared/fleet/origin-record.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { GpuSampler } from '../observability/gpu.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import type { ModelRepository } from '../repository/repository.ts';
import type { ServedModel } from '../serving/served-model.ts';
import { bucketsOf, type CumulativeBuckets, quantileBetween } from './latency-quantile.ts';

export type LoadSnapshot = Pick<OriginRecord, 'models' | 'capacity' | 'load'>;

export interface LoadSampler {
  /** What the origin serves and how busy it is now; latency covers the time since the previous call. */
  sample(): Promise<LoadSnapshot>;
}

const REQUEST_DURATION = 'aiserve_origin_request_duration_seconds';

/**
 * Reads the origin's own state for the heartbeat: the READY model versions, capacity (requests it runs at once
 * without queueing: per version, instances × max batch size), in-flight requests (accepted by the lifecycle,
 * including those still reading their body), queue depth per model, recent p50 latency from the request
 * histogram, and mean GPU utilisation when a sampler found a GPU.
 */
export function createLoadSampler(deps: {
  lifecycle: Pick<Lifecycle, 'inflight'>;
  repository: Pick<ModelRepository<ServedModel>, 'loaded'>;
  metrics: Pick<OriginMetrics, 'registry'>;
  gpu: Pick<GpuSampler, 'available' | 'latest'> | null;
}): LoadSampler {
  let previous: CumulativeBuckets | null = null;

  async function recentP50(): Promise<number | null> {
    const histogram = deps.metrics.registry.getSingleMetric(REQUEST_DURATION);
    if (!histogram) return null;
    const current = bucketsOf((await histogram.get()).values);
    const p50 = quantileBetween(previous, current, 0.5);
    previous = current;
    return p50 === null ? null : Math.round(p50 * 1000) / 1000;
  }

  function gpuUtilization(): number | null {
    if (!deps.gpu?.available) return null;
    const ratios = deps.gpu
      .latest()
      .map((s) => s.utilizationRatio)
      .filter((r): r is number => r !== null);
    if (ratios.length === 0) return null;
    return ratios.reduce((a, b) => a + b, 0) / ratios.length;
  }

  return {
    async sample() {
      const versions = new Map<string, string[]>();
      const queueDepth: Record<string, number> = {};
      let maxInflight = 0;
      for (const { definition, runtime } of deps.repository.loaded()) {
        const list = versions.get(definition.name) ?? [];
        list.push(String(definition.version));
        versions.set(definition.name, list);
        queueDepth[definition.name] = (queueDepth[definition.name] ?? 0) + runtime.pending();
        maxInflight += Math.max(1, definition.batching.concurrency) * Math.max(1, definition.maxBatchSize);
      }
      const models = [...versions].map(([name, vs]) => ({
        name,
        versions: vs.sort((a, b) => Number(b) - Number(a)),
      }));
      return {
        models,
        capacity: { maxInflight: Math.max(1, maxInflight) },
        load: {
          inflight: deps.lifecycle.inflight,
          queueDepth,
          p50LatencyMs: await recentP50(),
          gpuUtilization: gpuUtilization(),
        },
      };
    },
  };
}

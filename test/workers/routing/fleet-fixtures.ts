import type { OriginRecord } from '../../../shared/fleet/origin-record.ts';

/** An origin record with sensible defaults for routing tests. */
export function origin(id: string, overrides: Partial<OriginRecord> = {}): OriginRecord {
  return {
    id,
    url: `http://127.0.0.1:1/${id}`,
    region: 'eu',
    status: 'ready',
    models: [{ name: 'm', versions: ['1', '2'] }],
    capacity: { maxInflight: 10 },
    load: { inflight: 0, queueDepth: {}, p50LatencyMs: null, gpuUtilization: null },
    startedAt: 0,
    heartbeatAt: 0,
    instanceId: null,
    ...overrides,
  };
}

/** A deterministic RNG cycling through the given values. */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

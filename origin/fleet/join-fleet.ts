import { hostname } from 'node:os';
import { Redis } from '@upstash/redis';
import type { Clock } from '../../shared/clock.ts';
import type { OriginConfig } from '../../shared/config/origin.ts';
import type { RegistryRedis } from '../../shared/fleet/registry.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { GpuSampler } from '../observability/gpu.ts';
import type { Logger } from '../observability/logger.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import type { ModelRepository } from '../repository/repository.ts';
import type { ServedModel } from '../serving/served-model.ts';
import { createHeartbeat, type Heartbeat } from './heartbeat.ts';
import { createLoadSampler } from './load-sampler.ts';

/** Registry ids allow letters, digits and `. _ : -`; anything else in a hostname becomes `-`. */
export function defaultOriginId(host = hostname(), pid = process.pid): string {
  const safe = host.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 100) || 'origin';
  return `${safe}-${pid}`;
}

export type FleetConfig = Pick<
  OriginConfig,
  | 'REGISTRY_REDIS_REST_URL'
  | 'REGISTRY_REDIS_REST_TOKEN'
  | 'ORIGIN_PUBLIC_URL'
  | 'ORIGIN_ID'
  | 'ORIGIN_REGION'
  | 'ORIGIN_INSTANCE_ID'
  | 'HEARTBEAT_INTERVAL_MS'
  | 'HEARTBEAT_TTL_MS'
>;

/** Names every inconsistent registry variable at once (the schema checks each variable alone). */
export function fleetConfigProblems(config: FleetConfig): string[] {
  const problems: string[] = [];
  const hasUrl = config.REGISTRY_REDIS_REST_URL !== undefined;
  const hasToken = config.REGISTRY_REDIS_REST_TOKEN !== undefined;
  if (hasUrl !== hasToken) {
    problems.push(
      `${hasUrl ? 'REGISTRY_REDIS_REST_TOKEN' : 'REGISTRY_REDIS_REST_URL'}: required when ${
        hasUrl ? 'REGISTRY_REDIS_REST_URL' : 'REGISTRY_REDIS_REST_TOKEN'
      } is set`,
    );
  }
  if (config.HEARTBEAT_TTL_MS <= config.HEARTBEAT_INTERVAL_MS) {
    problems.push(
      `HEARTBEAT_TTL_MS: must exceed HEARTBEAT_INTERVAL_MS (${config.HEARTBEAT_INTERVAL_MS}) (got ${config.HEARTBEAT_TTL_MS})`,
    );
  }
  return problems;
}

/** Throws naming every inconsistent registry variable; called at start-up before anything loads. */
export function assertFleetConfig(config: FleetConfig): void {
  const problems = fleetConfigProblems(config);
  if (problems.length > 0)
    throw new Error(`invalid fleet registry configuration:\n  ${problems.join('\n  ')}`);
}

/**
 * Starts the origin's heartbeat when a registry is configured (null otherwise: a standalone origin). Called
 * once the origin is ready, so it never advertises models it cannot serve yet. `redis` overrides the client
 * built from the URL and token (tests).
 */
export async function joinFleet(
  config: FleetConfig,
  deps: {
    listenUrl: string;
    lifecycle: Pick<Lifecycle, 'inflight'>;
    repository: Pick<ModelRepository<ServedModel>, 'loaded'>;
    metrics: Pick<OriginMetrics, 'registry'>;
    gpu: Pick<GpuSampler, 'available' | 'latest'> | null;
    clock: Clock;
    logger: Logger;
    redis?: RegistryRedis & { get(key: string): Promise<unknown> };
    /** The control plane asked this origin to drain (its `aiserve:drain:<id>` marker appeared). */
    onDrainRequested?: () => void;
  },
): Promise<Heartbeat | null> {
  assertFleetConfig(config);
  if (!config.REGISTRY_REDIS_REST_URL || !config.REGISTRY_REDIS_REST_TOKEN) return null;
  const redis =
    deps.redis ??
    new Redis({
      url: config.REGISTRY_REDIS_REST_URL,
      token: config.REGISTRY_REDIS_REST_TOKEN,
      // A heartbeat is retried on its own schedule; the client's own retries would only delay that.
      retry: { retries: 1, backoff: () => 200 },
    });
  const heartbeat = createHeartbeat({
    redis,
    identity: {
      id: config.ORIGIN_ID ?? defaultOriginId(),
      url: config.ORIGIN_PUBLIC_URL ?? deps.listenUrl,
      region: config.ORIGIN_REGION,
      instanceId: config.ORIGIN_INSTANCE_ID ?? null,
    },
    sampler: createLoadSampler(deps),
    clock: deps.clock,
    logger: deps.logger,
    intervalMs: config.HEARTBEAT_INTERVAL_MS,
    ttlMs: config.HEARTBEAT_TTL_MS,
    ...(deps.onDrainRequested
      ? { drainWatch: { get: (key: string) => redis.get(key), onRequested: deps.onDrainRequested } }
      : {}),
  });
  await heartbeat.start();
  return heartbeat;
}

import type { EdgeRoutingConfig } from '../../shared/config/edge-routing.ts';
import type { RegistryRedis } from '../../shared/fleet/registry.ts';
import type { LastKnownStore } from '../adapters/platform.ts';
import { Coalescer } from '../cache/coalesce.ts';
import type { CacheTier } from '../cache/layered.ts';
import { ResponseCacheLayer } from '../cache/lookup.ts';
import type { EdgeLogger } from '../observability/logger.ts';
import { MetadataCache } from '../stores/metadata/metadata-cache.ts';
import { ModelSettingsCache, type ModelSettingsLoader } from '../stores/models/model-settings.ts';
import { MemoryCache } from '../stores/responses/memory-cache.ts';
import { RedisCache, type ResponseCacheRedis } from '../stores/responses/redis-cache.ts';
import { BreakerRegistry } from './breaker.ts';
import type { DeadlineSettings } from './deadline.ts';
import { FleetSnapshots, fleetSnapshotKey } from './fleet-snapshot.ts';
import { OriginClient, parseSigningKey } from './forward.ts';
import type { OriginAnswer } from './origin-answer.ts';
import {
  type FleetSourceEvent,
  type OriginSource,
  parseStaticOrigins,
  RedisOriginSource,
  StaticOriginSource,
} from './origin-source.ts';

export interface EdgeRoutingDeps {
  config: EdgeRoutingConfig;
  /** `ORIGINS` from `shared/config/edge.ts`, used when `STATIC_ORIGINS` is empty. */
  origins?: readonly string[];
  /** `ORIGIN_SIGNING_KEY` (`keyId:secret`); unset sends unsigned requests (origins with `ORIGIN_AUTH=off`). */
  signingKey?: string;
  /** `@upstash/redis` (auto-pipelining on); null: in-isolate cache and the static origin list. */
  redis: (ResponseCacheRedis & RegistryRedis) | null;
  /** `UPSTASH_REDIS_REST_URL`: names the registry whose fleet snapshot this edge reads and writes. */
  registryUrl?: string;
  /**
   * Where the last known fleet is kept for a new isolate (adapters: the Cache API on Workers, files under
   * Node); null or absent: only this isolate's own last read survives a Redis outage.
   */
  lastKnown?: LastKnownStore | null;
  /** `findModelSettings` bound to the database; null: every model gets the defaults. */
  loadModelSettings: ModelSettingsLoader | null;
  logger: EdgeLogger;
  /** Epoch ms. */
  now?: () => number;
  fetch?: typeof fetch;
  random?: () => number;
}

/** The cache and routing services of one isolate, built once (`createEdgeRouting`). */
export interface EdgeRouting {
  cache: ResponseCacheLayer;
  coalescer: Coalescer<OriginAnswer>;
  origins: OriginClient;
  breakers: BreakerRegistry;
  source: OriginSource;
  settings: ModelSettingsCache;
  metadata: MetadataCache<OriginAnswer>;
  deadlines: DeadlineSettings;
}

/**
 * Wires the response cache (edge tier: Workers Cache API, or an in-isolate LRU under Node; shared tier:
 * Redis when configured) and the origin router (registry in Redis or the static list, breakers, retries,
 * deadlines, signing) from configuration. Throws naming the variable when the configuration cannot work.
 */
export function createEdgeRouting(deps: EdgeRoutingDeps): EdgeRouting {
  const { config, logger } = deps;
  const now = deps.now ?? (() => Date.now());
  const staticSpec = config.STATIC_ORIGINS.length > 0 ? config.STATIC_ORIGINS : [...(deps.origins ?? [])];
  let staticOrigins: ReturnType<typeof parseStaticOrigins>;
  try {
    staticOrigins = parseStaticOrigins(staticSpec);
  } catch (error) {
    throw new Error(`invalid STATIC_ORIGINS: ${(error as Error).message}`);
  }
  // `auto`: an explicit static list wins (local stacks, fixed fleets); otherwise the registry in Redis.
  const auto = staticOrigins.length === 0 && deps.redis ? 'redis' : 'static';
  const registry = config.ORIGIN_REGISTRY === 'auto' ? auto : config.ORIGIN_REGISTRY;
  if (registry === 'redis' && !deps.redis) {
    throw new Error('ORIGIN_REGISTRY=redis needs UPSTASH_REDIS_REST_URL (the fleet registry lives in Redis)');
  }
  const staleSeconds = config.FLEET_STALE_IF_ERROR_SECONDS;
  const snapshots =
    deps.lastKnown && config.FLEET_SNAPSHOT_SECONDS > 0 && staleSeconds > 0
      ? new FleetSnapshots({
          store: deps.lastKnown,
          key: fleetSnapshotKey(deps.registryUrl ?? ''),
          writeEveryMs: config.FLEET_SNAPSHOT_SECONDS * 1000,
          ttlSeconds: staleSeconds,
        })
      : null;
  const source: OriginSource =
    registry === 'redis' && deps.redis
      ? new RedisOriginSource({
          redis: deps.redis,
          cacheMs: config.ORIGIN_REGISTRY_CACHE_MS,
          now,
          staleIfErrorMs: staleSeconds * 1000,
          snapshots,
          fallback: staticOrigins,
          onEvent: (event) => logFleetEvent(logger, event),
        })
      : new StaticOriginSource(staticOrigins);

  const breakers = new BreakerRegistry({
    consecutiveFailures: config.BREAKER_FAILURES,
    halfOpenAfterMs: config.BREAKER_HALF_OPEN_MS,
  });
  const origins = new OriginClient({
    source,
    breakers,
    signing: deps.signingKey ? parseSigningKey(deps.signingKey) : null,
    retry: {
      maxAttempts: config.ORIGIN_MAX_ATTEMPTS,
      baseDelayMs: config.RETRY_BASE_DELAY_MS,
      maxDelayMs: config.RETRY_MAX_DELAY_MS,
      minAttemptMs: config.RETRY_MIN_ATTEMPT_MS,
    },
    attemptTimeoutMs: config.ORIGIN_ATTEMPT_TIMEOUT_MS,
    maxResponseBytes: config.ORIGIN_MAX_RESPONSE_BYTES,
    region: config.EDGE_REGION ?? null,
    fetch: deps.fetch,
    random: deps.random,
    onAttempt: (event) => {
      // A request's own deadline ending is the client's choice, not an origin failure worth a warning.
      if (event.outcome.kind === 'deadline') return;
      if (event.outcome.kind !== 'response' || event.outcome.status >= 500) {
        logger.warn({ ...event }, 'origin attempt failed');
      }
    },
  });

  const loadSettings = deps.loadModelSettings ?? (async () => null);
  const settings = new ModelSettingsCache({
    load: loadSettings,
    ttlMs: config.MODEL_SETTINGS_TTL_MS,
    now,
    onError: (err, model) => logger.warn({ err, model }, 'model settings unavailable; cache bypassed'),
  });
  const onCacheError = (tier: CacheTier, operation: 'get' | 'set', err: unknown) =>
    logger.warn({ err, tier, operation }, 'response cache tier failed; continuing without it');
  const cache = new ResponseCacheLayer({
    settings,
    shared: deps.redis ? new RedisCache(deps.redis) : null,
    memoryEdge:
      config.RESPONSE_CACHE_MEMORY_BYTES > 0
        ? new MemoryCache({ maxBytes: config.RESPONSE_CACHE_MEMORY_BYTES, now })
        : null,
    now,
    onError: onCacheError,
  });
  const metadata = new MetadataCache<OriginAnswer>({
    freshMs: config.METADATA_FRESH_SECONDS * 1000,
    staleMs: config.METADATA_STALE_SECONDS * 1000,
    now,
    onRefreshError: (key, err) => logger.warn({ err, key }, 'metadata refresh failed; serving stale'),
  });
  return {
    cache,
    coalescer: new Coalescer<OriginAnswer>(),
    origins,
    breakers,
    source,
    settings,
    metadata,
    deadlines: { defaultMs: config.REQUEST_DEADLINE_MS, maxMs: config.REQUEST_DEADLINE_MAX_MS },
  };
}

/** One line per state the registry reader is in (at most one per `ORIGIN_REGISTRY_CACHE_MS` per isolate). */
function logFleetEvent(logger: EdgeLogger, event: FleetSourceEvent): void {
  switch (event.kind) {
    case 'read-failed':
      if (event.served === 'none') {
        logger.error(
          { err: event.error, fleetAgeMs: event.ageMs },
          'origin registry unreachable and no last known fleet within FLEET_STALE_IF_ERROR_SECONDS; answering 503',
        );
      } else {
        logger.warn(
          { err: event.error, served: event.served, fleetAgeMs: event.ageMs },
          'origin registry read failed; routing on the last known fleet',
        );
      }
      return;
    case 'registry-lost':
      logger.warn(
        { served: event.served, fleetAgeMs: event.ageMs },
        'origin registry lost its data (Redis restarted empty?); routing on the last known fleet until origins heartbeat back',
      );
      return;
    case 'recovered':
      logger.info({ failedForMs: event.failedForMs }, 'origin registry reachable again');
      return;
    case 'snapshot-failed':
      logger.warn({ err: event.error, operation: event.operation }, 'fleet snapshot store failed');
      return;
  }
}

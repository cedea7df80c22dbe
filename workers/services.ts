import type { Redis } from '@upstash/redis';
import { pingDatabase } from '../drizzle/queries/health.ts';
import type { EdgeConfig } from '../shared/config/edge.ts';
import { hashKeySecret } from '../shared/keys/api-key.ts';
import { AISERVE_VERSION } from '../shared/version.ts';
import type { LastKnownStore } from './adapters/platform.ts';
import type { EdgeSettings } from './config.ts';
import { createLogger, type EdgeLogger } from './observability/logger.ts';
import { createMetrics, type EdgeMetrics } from './observability/metrics.ts';
import { createEdgeReadiness, type DependencyProbe, type EdgeReadiness } from './observability/readiness.ts';
import { createEdgeTracing, type EdgeTracing } from './observability/tracing.ts';
import { createEdgeRouting, type EdgeRouting } from './routing/edge-routing.ts';
import type { DataAccess } from './stores/database/data-access.ts';
import type { DatabaseSource } from './stores/database/database-source.ts';
import { createKeyCache, type KeyCache } from './stores/keys/key-cache.ts';
import { createTouchBatcher, type TouchBatcher } from './stores/keys/touch-batcher.ts';
import { createMemoryRateLimiter } from './stores/limits/memory-rate-limiter.ts';
import type { RateLimiter } from './stores/limits/rate-limiter.ts';
import { createUpstashRateLimiter } from './stores/limits/upstash-rate-limiter.ts';
import { createRedis } from './stores/redis-client.ts';
import {
  createBufferedUsageSink,
  createDurableUsageSink,
  type UsageSink,
} from './stores/usage/usage-sink.ts';
import { createRedisUsageStream } from './stores/usage/usage-stream.ts';

/** Everything the app needs, built once per isolate (Workers) or process (Node). */
export interface Services {
  config: EdgeConfig;
  logger: EdgeLogger;
  metrics: EdgeMetrics;
  /** Span export (`OTEL_EXPORTER_OTLP_ENDPOINT`); null without an endpoint: no spans, `traceparent` only. */
  tracing: EdgeTracing | null;
  /** `@upstash/redis` with auto-pipelining; null without `UPSTASH_REDIS_REST_URL` (in-memory stores). */
  redis: Redis | null;
  /** Postgres; null when no database is configured (auth then answers 503 naming Postgres on a cold key). */
  data: DataAccess | null;
  /** Full database access for the admin API; null without `DATABASE_URL`. */
  database: DatabaseSource | null;
  keys: KeyCache;
  touch: TouchBatcher | null;
  limiter: RateLimiter;
  fallbackLimiter: RateLimiter;
  usage: UsageSink;
  /** SHA-256 of `ADMIN_TOKEN`, compared in constant time; null disables operator access. */
  operatorTokenHash: string | null;
  /**
   * Response cache and origin router (EDGE-ROUTING); null only when built with `routing: false`, and then the
   * inference routes are not served.
   */
  routing: EdgeRouting | null;
  /** What `GET /v2/health/ready` answers: each configured database's reachability, cached briefly. */
  readiness: EdgeReadiness;
  /** Epoch ms. */
  now(): number;
}

export interface ServiceDeps {
  /** Postgres access; `null` runs without a database. */
  data: DataAccess | null;
  database?: DatabaseSource | null;
  now?: () => number;
  logWrite?: (line: string) => void;
  /** Replaces the Redis client built from the config (tests count round trips through their own). */
  redis?: Redis | null;
  /**
   * Workers: a request must not wait on I/O or timers another request started (workerd cancels it as hung),
   * so usage events are not batched across requests there, and held ones are retried by later requests
   * rather than on a timer.
   */
  isolatedRequests?: boolean;
  /** The fetch origin calls go through: with a client certificate for mTLS origins (adapters/*). */
  originFetch?: typeof fetch;
  /** Where the last known fleet is kept for a new isolate (adapters/*); absent: none beyond the isolate. */
  lastKnown?: LastKnownStore | null;
  /** The origin picker's RNG; tests pass a seeded one for a reproducible choice. */
  random?: () => number;
  /** false: no response cache or origin router, so no inference routes (tests that mount their own). */
  routing?: boolean;
}

/**
 * Builds the services from configuration, whole. Without Redis every store is the in-isolate one (same
 * interfaces): auth cache memory-only, limiter per isolate, usage buffered and inserted into Postgres in
 * batches, response cache in isolate memory, origins from the static list.
 */
export async function createServices(settings: EdgeSettings, deps: ServiceDeps): Promise<Services> {
  const config = settings.edge;
  const now = deps.now ?? (() => Date.now());
  const logger = createLogger({
    level: config.LOG_LEVEL,
    write: deps.logWrite,
    base: { env: config.ENVIRONMENT },
  });
  const metrics = createMetrics();
  let exportWarnedAt = Number.NEGATIVE_INFINITY;
  const tracing = await createEdgeTracing({
    endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    headers: config.OTEL_EXPORTER_OTLP_HEADERS,
    serviceVersion: AISERVE_VERSION,
    environment: config.ENVIRONMENT,
    onExportError: (err) => {
      // Once a minute per isolate: a collector that is down would otherwise cost a log line per request.
      if (now() - exportWarnedAt < 60_000) return;
      exportWarnedAt = now();
      logger.warn({ err }, 'trace export failed; those spans are dropped (logged at most once a minute)');
    },
  });
  const redis = deps.redis !== undefined ? deps.redis : createRedis(config);
  const data = deps.data;
  const keys = createKeyCache({
    lookup: async (prefix) => {
      if (!data) throw new Error('no database configured (DATABASE_URL)');
      return data.findKeyForAuth(prefix);
    },
    redis,
    memoryTtlMs: config.AUTH_MEMORY_TTL_MS,
    negativeTtlMs: config.AUTH_NEGATIVE_TTL_MS,
    redisTtlSeconds: config.AUTH_REDIS_TTL_SECONDS,
    staleIfErrorSeconds: config.AUTH_STALE_IF_ERROR_SECONDS,
    now,
    metrics,
    logger,
  });
  const touch = data
    ? createTouchBatcher({
        intervalMs: config.AUTH_TOUCH_INTERVAL_MS,
        now,
        write: (ids) => data.touchKeys(ids),
        onError: (err) => logger.warn({ err }, 'last_used_at update failed'),
      })
    : null;
  const fallbackLimiter = createMemoryRateLimiter({ now });
  const limiter = redis
    ? createUpstashRateLimiter({ redis, timeoutMs: config.REDIS_TIMEOUT_MS })
    : fallbackLimiter;
  let usage: UsageSink;
  if (redis) {
    usage = createDurableUsageSink({
      stream: createRedisUsageStream(redis, { maxLength: config.USAGE_STREAM_MAX_LENGTH }),
      database: data ? { insert: (events) => data.insertUsage(events) } : null,
      metrics,
      logger,
      now,
      maxBatch: config.USAGE_BATCH_SIZE,
      maxDelayMs: deps.isolatedRequests ? 0 : config.USAGE_STREAM_BATCH_MS,
      databaseTimeoutMs: config.USAGE_DATABASE_TIMEOUT_MS,
      maxHeld: config.USAGE_BUFFER_MAX_EVENTS,
      maxHeldAgeMs: config.USAGE_BUFFER_MAX_AGE_MS,
      retryIntervalMs: deps.isolatedRequests ? 0 : config.USAGE_FLUSH_INTERVAL_MS,
    });
  } else if (data) {
    usage = createBufferedUsageSink({
      insert: (events) => data.insertUsage(events),
      batchSize: config.USAGE_BATCH_SIZE,
      flushIntervalMs: config.USAGE_FLUSH_INTERVAL_MS,
      awaitOthers: !deps.isolatedRequests,
      now,
      onStored: (count) => metrics.inc('edge_usage_events_total', count),
      onDropped: (count, err) => {
        metrics.inc('edge_usage_events_dropped_total', count);
        logger.error({ dropped: count, err }, 'usage events dropped');
      },
    });
  } else {
    usage = {
      record: async () => {
        metrics.inc('edge_usage_events_dropped_total');
        throw new Error('usage events have nowhere to go: configure Redis or a database');
      },
      flush: async () => {},
      pending: () => 0,
    };
  }
  const routing =
    deps.routing === false
      ? null
      : createEdgeRouting({
          config: settings.routing,
          origins: config.ORIGINS,
          signingKey: config.ORIGIN_SIGNING_KEY,
          redis,
          registryUrl: config.UPSTASH_REDIS_REST_URL,
          lastKnown: deps.lastKnown ?? null,
          loadModelSettings: data ? (name) => data.findModelSettings(name) : null,
          logger,
          now,
          ...(deps.originFetch ? { fetch: deps.originFetch } : {}),
          ...(deps.random ? { random: deps.random } : {}),
        });
  const database = deps.database ?? null;
  const probes: DependencyProbe[] = [];
  if (database) probes.push({ name: 'postgres', check: () => database.use((h) => pingDatabase(h.primary)) });
  if (redis) probes.push({ name: 'redis', check: () => redis.ping() });
  const readiness = createEdgeReadiness({
    probes,
    cacheMs: config.HEALTH_READY_CACHE_MS,
    timeoutMs: config.HEALTH_READY_TIMEOUT_MS,
    now,
    shareInFlight: !deps.isolatedRequests,
    onDown: (dependency, err) => logger.warn({ err, dependency }, `readiness: ${dependency} is unreachable`),
  });
  return {
    config,
    logger,
    metrics,
    tracing,
    redis,
    data,
    database,
    keys,
    touch,
    limiter,
    fallbackLimiter,
    usage,
    operatorTokenHash: config.ADMIN_TOKEN ? hashKeySecret(config.ADMIN_TOKEN) : null,
    routing,
    readiness,
    now,
  };
}

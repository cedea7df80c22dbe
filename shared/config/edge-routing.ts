import { z } from 'zod';
import { int, commaList as list } from './fields.ts';

/**
 * The edge's response cache and origin routing (EDGE-ROUTING). Read with `loadConfig` from the same
 * bindings as `shared/config/edge.ts`, which holds the shared variables (`ORIGINS`, `ORIGIN_SIGNING_KEY`,
 * `UPSTASH_REDIS_*`). Every variable is documented in the README section "Edge caching and routing".
 */
export const edgeRoutingConfigSchema = z
  .object({
    /** Static origins, `id=url[@region]` or `url[@region]`, comma-separated; `ORIGINS` is read when unset. */
    STATIC_ORIGINS: list,
    /**
     * `redis`: the fleet registry (the static list only if Redis fails before a first read); `static`: the list
     * above; `auto`: the static list when one is given, else the registry when Redis is configured.
     */
    ORIGIN_REGISTRY: z.enum(['auto', 'redis', 'static']).default('auto'),
    /** How long one read of the registry is reused in the isolate. */
    ORIGIN_REGISTRY_CACHE_MS: int(0, 60_000).default(1_500),
    /** This edge's region: origins there are preferred, others are the failover. Unset: no preference. */
    EDGE_REGION: z.string().min(1).max(64).optional(),
    /** Deadline of a request that asks for none, and the most any request may ask for. */
    REQUEST_DEADLINE_MS: int(100, 3_600_000).default(30_000),
    REQUEST_DEADLINE_MAX_MS: int(100, 3_600_000).default(120_000),
    /** Cap on one attempt, so a hung origin leaves time to retry on another. */
    ORIGIN_ATTEMPT_TIMEOUT_MS: int(50, 3_600_000).default(10_000),
    /** Largest origin answer the edge reads; a larger one fails the attempt (a misbehaving host). */
    ORIGIN_MAX_RESPONSE_BYTES: int(1024).default(64 * 1024 * 1024),
    ORIGIN_MAX_ATTEMPTS: int(1, 10).default(3),
    RETRY_BASE_DELAY_MS: int(0, 60_000).default(25),
    RETRY_MAX_DELAY_MS: int(0, 60_000).default(1_000),
    /** An attempt is only started with at least this much of the deadline left. */
    RETRY_MIN_ATTEMPT_MS: int(1, 60_000).default(100),
    BREAKER_FAILURES: int(1, 1_000).default(5),
    BREAKER_HALF_OPEN_MS: int(100, 3_600_000).default(10_000),
    /** Byte budget of the in-isolate response cache (the edge tier where there is no Workers Cache API). */
    RESPONSE_CACHE_MEMORY_BYTES: int(0).default(64 * 1024 * 1024),
    /** How long model cache settings are trusted in isolate memory. */
    MODEL_SETTINGS_TTL_MS: int(0, 3_600_000).default(30_000),
    /** Model metadata: served from the isolate while fresh, then stale (refreshed in the background). */
    METADATA_FRESH_SECONDS: int(0, 86_400).default(30),
    METADATA_STALE_SECONDS: int(0, 86_400).default(300),
  })
  .refine((c) => c.REQUEST_DEADLINE_MS <= c.REQUEST_DEADLINE_MAX_MS, {
    message: 'REQUEST_DEADLINE_MS must not exceed REQUEST_DEADLINE_MAX_MS',
    path: ['REQUEST_DEADLINE_MS'],
  });

export type EdgeRoutingConfig = z.infer<typeof edgeRoutingConfigSchema>;

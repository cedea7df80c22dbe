import { z } from 'zod';
import { int, commaList as list } from './fields.ts';

/**
 * The edge's response cache and origin routing (EDGE-ROUTING). Read with `loadConfig` from the same
 * bindings as `shared/config/edge.ts`, which holds the shared variables (`ORIGINS`, `ORIGIN_SIGNING_KEY`,
 * `UPSTASH_REDIS_*`). Each field's `.describe()` is its documentation (`npm run docs:config`).
 */
export const edgeRoutingConfigSchema = z
  .object({
    STATIC_ORIGINS: list.describe(
      'Static origins, `id=url[@region]` or `url[@region]`, comma-separated (the id defaults to `host:port`, the region to `local`); takes precedence over `ORIGINS`.',
    ),
    ORIGIN_REGISTRY: z
      .enum(['auto', 'redis', 'static'])
      .default('auto')
      .describe(
        'Where origins come from. `auto`: the static list when one is given, else the fleet registry when Redis is configured, else none. `redis`: the fleet registry (the static list serves only while Redis fails with no last known fleet within `FLEET_STALE_IF_ERROR_SECONDS`; needs `UPSTASH_REDIS_REST_URL`). `static`: the static list only.',
      ),
    ORIGIN_REGISTRY_CACHE_MS: int(0, 60_000)
      .default(1_500)
      .describe('How long one read of the fleet registry is reused in the isolate, in milliseconds.'),
    FLEET_STALE_IF_ERROR_SECONDS: int(0, 86_400)
      .default(600)
      .describe(
        "While the fleet registry cannot be read (or has lost its data: Redis restarted empty), the last known fleet (the isolate's own, or the snapshot another isolate or process left) keeps routing for at most this long after it was read from Redis, in seconds; past it, requests that need an origin get 503 `DEPENDENCY_UNAVAILABLE` naming the registry (or the static list serves, when one is set). Breakers still guard each origin. `0`: never route on a fleet Redis did not just return.",
      ),
    FLEET_SNAPSHOT_SECONDS: int(0, 3_600)
      .default(30)
      .describe(
        'How often an isolate that read the registry writes the fleet where a new isolate finds it while Redis is down (the Workers Cache API of its location; a file under Node), in seconds; a change of membership is written at once. `0`: no snapshot, so only isolates that read the registry before Redis failed keep a last known fleet.',
      ),
    FLEET_SNAPSHOT_DIR: z
      .string()
      .min(1)
      .optional()
      .describe(
        '`npm run edge:node` only: the directory the fleet snapshot is kept in (one small JSON file per registry), shared by the edge processes of one host. Unset: `aiserve-edge` in the OS temporary directory.',
      ),
    EDGE_REGION: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe(
        "This edge's region: origins there are preferred, others are the failover. Unset: no preference.",
      ),
    REQUEST_DEADLINE_MS: int(100, 3_600_000)
      .default(30_000)
      .describe(
        'Deadline of a request that asks for none, in milliseconds; must not exceed `REQUEST_DEADLINE_MAX_MS`.',
      ),
    REQUEST_DEADLINE_MAX_MS: int(100, 3_600_000)
      .default(120_000)
      .describe(
        'The longest deadline any request gets, in milliseconds (caps `X-Request-Timeout-Ms` and `parameters.timeout`).',
      ),
    ORIGIN_ATTEMPT_TIMEOUT_MS: int(50, 3_600_000)
      .default(10_000)
      .describe('Cap on one attempt, in milliseconds, so a hung origin leaves time to retry on another.'),
    ORIGIN_MAX_RESPONSE_BYTES: int(1024)
      .default(64 * 1024 * 1024)
      .describe(
        "Largest origin answer the edge reads into memory, in bytes (64 MiB). A larger one (by `Content-Length`, or counted while streaming) fails the attempt, counts against that origin's breaker and is retried elsewhere: origins are rented hosts, and one must not be able to exhaust an isolate's memory.",
      ),
    ORIGIN_MAX_ATTEMPTS: int(1, 10).default(3).describe('Attempts per request, the first included.'),
    RETRY_BASE_DELAY_MS: int(0, 60_000)
      .default(25)
      .describe('Backoff cap before the first retry, in milliseconds; doubles per retry (full jitter).'),
    RETRY_MAX_DELAY_MS: int(0, 60_000).default(1_000).describe('Largest backoff cap, in milliseconds.'),
    RETRY_MIN_ATTEMPT_MS: int(1, 60_000)
      .default(100)
      .describe(
        'A retry starts only with at least this much of the deadline left after its delay, in milliseconds.',
      ),
    BREAKER_FAILURES: int(1, 1_000)
      .default(5)
      .describe("Consecutive failures that open an origin's breaker."),
    BREAKER_HALF_OPEN_MS: int(100, 3_600_000)
      .default(10_000)
      .describe('How long an open breaker waits before letting one trial request through, in milliseconds.'),
    RESPONSE_CACHE_MEMORY_BYTES: int(0)
      .default(64 * 1024 * 1024)
      .describe(
        'Byte budget of the in-isolate response cache (64 MiB; the edge tier where there is no Workers Cache API, i.e. under Node); one entry may take at most a quarter of it. `0` turns it off.',
      ),
    MODEL_SETTINGS_TTL_MS: int(0, 3_600_000)
      .default(30_000)
      .describe("How long a model's cache settings are trusted in isolate memory, in milliseconds."),
    METADATA_FRESH_SECONDS: int(0, 86_400)
      .default(30)
      .describe('Model metadata is served from the isolate as fresh this long, in seconds.'),
    METADATA_STALE_SECONDS: int(0, 86_400)
      .default(300)
      .describe(
        'After that, model metadata is served stale this much longer, in seconds, while one background refresh replaces it.',
      ),
  })
  .refine((c) => c.REQUEST_DEADLINE_MS <= c.REQUEST_DEADLINE_MAX_MS, {
    message: 'REQUEST_DEADLINE_MS must not exceed REQUEST_DEADLINE_MAX_MS',
    path: ['REQUEST_DEADLINE_MS'],
  });

export type EdgeRoutingConfig = z.infer<typeof edgeRoutingConfigSchema>;

import { z } from 'zod';
import { parseOtlpHeaders } from '../otlp.ts';
import { int, commaList as list } from './fields.ts';

/**
 * The edge worker's configuration: Workers vars and secrets under wrangler, `process.env` under
 * `npm run edge:node`. Read once per isolate with `loadConfig`; a bad value names every bad variable.
 * Database variables (`DATABASE_*`, `NEON_WS_PROXY`) are read by `shared/db` and are not repeated here.
 * Each field's `.describe()` is its documentation (`npm run docs:config`).
 */
export const edgeConfigSchema = z.object({
  ENVIRONMENT: z
    .enum(['dev', 'staging', 'production', 'test'])
    .default('dev')
    .describe('Deployment environment; added to every log line.'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info').describe('Log level.'),
  UPSTASH_REDIS_REST_URL: z
    .string()
    .url()
    .optional()
    .describe(
      'Upstash REST URL. Unset: in-isolate stores everywhere (memory-only key cache, per-isolate limiter, no shared response cache, static origin list, buffered usage).',
    ),
  UPSTASH_REDIS_REST_TOKEN: z.string().optional().describe('Token for `UPSTASH_REDIS_REST_URL` (a secret).'),
  REDIS_TIMEOUT_MS: int(50, 60_000)
    .default(1_000)
    .describe(
      'Bound on each Redis command, in milliseconds; after it the limiter fails open or closed (`RATE_LIMIT_FAILURE_MODE`) and the caches are skipped.',
    ),
  ADMIN_TOKEN: z
    .string()
    .min(24, 'ADMIN_TOKEN must be at least 24 characters')
    .optional()
    .describe('Operator bearer token for `/admin/v1/*` (a secret). Unset turns operator access off.'),
  CORS_ORIGINS: list.describe(
    'Comma-separated browser origins allowed by CORS (exact match; `*` allows any). Empty: no CORS headers at all.',
  ),
  MAX_BODY_BYTES: int(1024)
    .default(64 * 1024 * 1024)
    .describe('Body limit on `/v2/*` in bytes (64 MiB); 413 above.'),
  MAX_JSON_BODY_BYTES: int(1024)
    .default(8 * 1024 * 1024)
    .describe(
      'Largest JSON part of an inference body in bytes (8 MiB): all of a JSON body, or the header before binary tensor bytes; 413 above, pointing at the binary extension. Parsing JSON costs the edge several times its size in memory (the text, the parsed values, the canonical form for the cache key), and a Worker isolate has 128 MB for all the requests it serves at once.',
    ),
  ADMIN_MAX_BODY_BYTES: int(256)
    .default(64 * 1024)
    .describe('Body limit on `/admin/*` in bytes (64 KiB).'),
  HSTS_MAX_AGE_SECONDS: int(0)
    .default(31_536_000)
    .describe('`Strict-Transport-Security` max-age in seconds (one year); `0` sends no HSTS header.'),
  AUTH_MEMORY_TTL_MS: int(0, 600_000)
    .default(5_000)
    .describe(
      'Isolate-memory tier of the key cache, in milliseconds: the revocation bound when the revoker deletes the Redis entry.',
    ),
  AUTH_REDIS_TTL_SECONDS: int(1, 86_400)
    .default(60)
    .describe(
      'Freshness of the Redis tier of the key cache (`aiserve:auth:<prefix>`), in seconds: added to the revocation bound when only Postgres changes.',
    ),
  AUTH_STALE_IF_ERROR_SECONDS: int(0, 604_800)
    .default(86_400)
    .describe(
      "How long past its freshness a known key's record may still be served while Postgres is unreachable, in seconds (24 h); `0` turns stale-if-error off.",
    ),
  AUTH_NEGATIVE_TTL_MS: int(0, 600_000)
    .default(5_000)
    .describe(
      'How long an unknown key prefix is remembered in isolate memory, in milliseconds, so guessing does not reach Postgres.',
    ),
  AUTH_TOUCH_INTERVAL_MS: int(0)
    .default(30_000)
    .describe('Least interval between batched `last_used_at` writes from one isolate, in milliseconds.'),
  RATE_LIMIT_FAILURE_MODE: z
    .enum(['open', 'closed'])
    .default('open')
    .describe(
      "When Redis fails or times out: `open` uses the isolate's own bucket; `closed` answers 503 `DEPENDENCY_UNAVAILABLE` with `Retry-After: 5`.",
    ),
  RATE_LIMIT_IP_PER_MINUTE: int(1)
    .default(120)
    .describe(
      'Refill rate per minute of the per-IP bucket (requests without a key, and failed authentication on keyed routes).',
    ),
  RATE_LIMIT_IP_BURST: int(1).default(60).describe('Capacity of the per-IP bucket.'),
  USAGE_BATCH_SIZE: int(1, 10_000)
    .default(100)
    .describe(
      'Usage events per Postgres insert (without Redis); with Redis, at most per pipelined append batch (under Node) and per direct insert, and how many held events one write retries.',
    ),
  USAGE_FLUSH_INTERVAL_MS: int(0)
    .default(5_000)
    .describe(
      'Without Redis: buffered usage events are written once this has passed since the last write, in milliseconds. With Redis, under Node: how often usage events held after failed writes are retried (on Workers they are retried with later requests).',
    ),
  USAGE_STREAM_BATCH_MS: int(0, 1_000)
    .default(10)
    .describe(
      'With Redis, under Node: how long a usage event waits (after the response) for others to share its XADD round trip, in milliseconds; `0` = none. Not used on Workers.',
    ),
  USAGE_STREAM_MAX_LENGTH: int(1)
    .default(1_000_000)
    .describe(
      'With Redis: entries the usage stream may hold. At this length the edge appends no more (only the drain trims, and only what it has acknowledged) and writes usage events to Postgres directly; each refused append is counted (`edge_usage_stream_full_total`).',
    ),
  USAGE_BUFFER_MAX_EVENTS: int(0, 1_000_000)
    .default(10_000)
    .describe(
      'With Redis: usage events one isolate holds in memory while neither the stream nor Postgres takes them, retried with later events; beyond it the oldest are dropped, counted (`edge_usage_events_dropped_total`) and logged; `0` holds none. Held events are lost if the isolate is evicted.',
    ),
  USAGE_BUFFER_MAX_AGE_MS: int(1_000)
    .default(3_600_000)
    .describe(
      'With Redis: a held usage event older than this (from its timestamp), in milliseconds, is dropped, counted and logged, so every event is stored or counted as dropped within this time (1 h).',
    ),
  USAGE_DATABASE_TIMEOUT_MS: int(50, 60_000)
    .default(5_000)
    .describe(
      'With Redis: bound on one direct Postgres insert of usage events the stream did not take, in milliseconds; after it they are held and retried.',
    ),
  ORIGINS: list.describe(
    'Static origin list, `id=url[@region]` comma-separated; read when `STATIC_ORIGINS` is empty.',
  ),
  EDGE_HOST: z
    .string()
    .default('127.0.0.1')
    .describe('`npm run edge:node` only: bind address (wrangler picks its own).'),
  EDGE_PORT: int(0, 65535).default(8787).describe('`npm run edge:node` only: port; `0` picks a free one.'),
  ORIGIN_SIGNING_KEY: z
    .string()
    .regex(/^[^:,\s]+:[^,\s]+$/, 'ORIGIN_SIGNING_KEY must be keyId:secret')
    .optional()
    .describe(
      "`keyId:secret` the edge signs origin requests with (a secret); the origins' `ORIGIN_SIGNING_KEYS` holds the same pair. Unset: requests go unsigned, which only an origin with `ORIGIN_AUTH=off` accepts.",
    ),
  ORIGIN_TLS_CLIENT_CERT_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      '`npm run edge:node` only: PEM client certificate presented to origins that require one (mTLS). On Workers, bind the certificate as `ORIGIN_MTLS` instead.',
    ),
  ORIGIN_TLS_CLIENT_KEY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('`npm run edge:node` only: PEM private key of `ORIGIN_TLS_CLIENT_CERT_FILE`.'),
  ORIGIN_TLS_CA_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      "`npm run edge:node` only: PEM file of a private CA to trust for the origins' server certificates.",
    ),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .url()
    .optional()
    .describe(
      "OTLP/HTTP base URL of a trace collector; when set, each request's spans (the request, auth, rate limit, cache lookup, one per origin attempt) are exported to `<url>/v1/traces` as OTLP JSON once it is answered (in `waitUntil` on Workers). Unset: no spans are recorded; `traceparent` is still continued and forwarded.",
    ),
  OTEL_EXPORTER_OTLP_HEADERS: z
    .string()
    .optional()
    .refine(
      (spec) => {
        try {
          if (spec !== undefined) parseOtlpHeaders(spec);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs, comma-separated' },
    )
    .transform((spec) => (spec === undefined ? {} : parseOtlpHeaders(spec)))
    .describe(
      "Headers sent with each trace export, `key=value` comma-separated with percent-encoded values (a collector's API key: a secret). Unset: none.",
    ),
  HEALTH_READY_TIMEOUT_MS: int(50, 30_000)
    .default(2_000)
    .describe(
      'Bound on each dependency check of `GET /v2/health/ready`, in milliseconds: a database slower than this to answer `SELECT 1` or `PING` is reported down.',
    ),
  HEALTH_READY_CACHE_MS: int(0, 60_000)
    .default(3_000)
    .describe(
      'How long `GET /v2/health/ready` reuses its last check of Postgres and Redis, in milliseconds, so a storm of probes costs the databases one round trip per isolate per period; `0` checks on every probe.',
    ),
});

export type EdgeConfig = z.infer<typeof edgeConfigSchema>;

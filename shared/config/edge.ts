import { z } from 'zod';
import { int, commaList as list } from './fields.ts';

/**
 * The edge worker's configuration: Workers vars and secrets under wrangler, `process.env` under
 * `npm run edge:node`. Read once per isolate with `loadConfig`; a bad value names every bad variable.
 * Database variables (`DATABASE_*`, `NEON_WS_PROXY`) are read by `shared/db` and are not repeated here.
 */
export const edgeConfigSchema = z.object({
  ENVIRONMENT: z.enum(['dev', 'staging', 'production', 'test']).default('dev'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Unset: in-isolate stores (auth cache, limiter, response cache, static origin list, usage buffer). */
  UPSTASH_REDIS_REST_URL: z.string().url().optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
  /** Per Redis command; after it the limiter fails open (or closed) and caches are skipped. */
  REDIS_TIMEOUT_MS: int(50, 60_000).default(1_000),
  /** Operator bearer token for `/admin/v1/*`; unset disables operator access. */
  ADMIN_TOKEN: z.string().min(24, 'ADMIN_TOKEN must be at least 24 characters').optional(),
  /** Browser origins allowed by CORS (exact match); empty: no CORS headers at all. `*` allows any. */
  CORS_ORIGINS: list,
  MAX_BODY_BYTES: int(1024).default(64 * 1024 * 1024),
  /** Largest JSON part of an inference body (all of it, or the header before binary tensor bytes). */
  MAX_JSON_BODY_BYTES: int(1024).default(8 * 1024 * 1024),
  ADMIN_MAX_BODY_BYTES: int(256).default(64 * 1024),
  HSTS_MAX_AGE_SECONDS: int(0).default(31_536_000),
  /** Isolate-memory tier of the key cache: the revocation bound when the revoker deletes the Redis entry. */
  AUTH_MEMORY_TTL_MS: int(0, 600_000).default(5_000),
  /** Redis tier (`aiserve:auth:<prefix>`): the revocation bound when only Postgres changes. */
  AUTH_REDIS_TTL_SECONDS: int(1, 86_400).default(60),
  /**
   * How long past AUTH_REDIS_TTL_SECONDS a known key's record may still be served while Postgres is unreachable
   * (R3); 0 turns it off.
   */
  AUTH_STALE_IF_ERROR_SECONDS: int(0, 604_800).default(86_400),
  /** Unknown prefixes are remembered this long in isolate memory so guessing does not reach Postgres. */
  AUTH_NEGATIVE_TTL_MS: int(0, 600_000).default(5_000),
  /** Minimum interval between batched `last_used_at` writes from one isolate. */
  AUTH_TOUCH_INTERVAL_MS: int(0).default(30_000),
  RATE_LIMIT_FAILURE_MODE: z.enum(['open', 'closed']).default('open'),
  /** Unauthenticated routes, per `CF-Connecting-IP`. */
  RATE_LIMIT_IP_PER_MINUTE: int(1).default(120),
  RATE_LIMIT_IP_BURST: int(1).default(60),
  /** Without Redis, usage events are buffered and inserted into Postgres in batches of at most this many. */
  USAGE_BATCH_SIZE: int(1, 10_000).default(100),
  USAGE_FLUSH_INTERVAL_MS: int(0).default(5_000),
  /** With Redis: how long a usage event waits for others to share its XADD round trip (0 = none). */
  USAGE_STREAM_BATCH_MS: int(0, 1_000).default(10),
  /** Static origin list (used when Redis is not configured): `id=url[@region]` comma-separated. */
  ORIGINS: list,
  /** `npm run edge:node` only (wrangler picks its own address). */
  EDGE_HOST: z.string().default('127.0.0.1'),
  EDGE_PORT: int(0, 65535).default(8787),
  /** `keyId:secret` the edge signs origin requests with (the origin's ORIGIN_SIGNING_KEYS holds the pair). */
  ORIGIN_SIGNING_KEY: z
    .string()
    .regex(/^[^:,\s]+:[^,\s]+$/, 'ORIGIN_SIGNING_KEY must be keyId:secret')
    .optional(),
  /**
   * `npm run edge:node` only: PEM files of the client certificate (and key) presented to origins that require
   * one (mTLS), and of a private CA to trust for their server certificates. On Workers the client certificate is
   * the `ORIGIN_MTLS` mTLS-certificate binding instead.
   */
  ORIGIN_TLS_CLIENT_CERT_FILE: z.string().min(1).optional(),
  ORIGIN_TLS_CLIENT_KEY_FILE: z.string().min(1).optional(),
  ORIGIN_TLS_CA_FILE: z.string().min(1).optional(),
});

export type EdgeConfig = z.infer<typeof edgeConfigSchema>;

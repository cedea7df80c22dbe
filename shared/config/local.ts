import { z } from 'zod';
import { bool } from './fields.ts';

const port = z.coerce.number().int().min(0).max(65535);

/** The standalone Upstash REST bridge (`tsx scripts/dev/upstash-bridge.ts`). Documented under "Local services". */
export const upstashBridgeConfigSchema = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  UPSTASH_BRIDGE_HOST: z.string().default('127.0.0.1'),
  UPSTASH_BRIDGE_PORT: port.default(8079),
  /** Bearer token clients must send; generated and printed when unset. */
  UPSTASH_BRIDGE_TOKEN: z.string().min(8).optional(),
});

const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')
  .transform((s) => {
    const i = s.lastIndexOf(':');
    return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  });

/** The standalone Neon WebSocket proxy (`tsx scripts/dev/neon-ws-proxy.ts`). */
export const neonWsProxyConfigSchema = z.object({
  NEON_WS_PROXY_HOST: z.string().default('127.0.0.1'),
  NEON_WS_PROXY_PORT: port.default(5433),
  /** The Postgres the proxy pipes every connection to. */
  NEON_WS_PROXY_TARGET: hostPort.prefault('127.0.0.1:5432'),
});

/** The standalone PGlite socket server (`tsx scripts/dev/pglite-server.ts`). */
export const pgliteServerConfigSchema = z.object({
  PGLITE_DATA_DIR: z.string().default('.data/pglite'),
  PGLITE_HOST: z.string().default('127.0.0.1'),
  PGLITE_PORT: port.default(5433),
  PGLITE_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1000).default(64),
});

/**
 * `npm start` (scripts/dev/start.ts). The origin's own variables (MODEL_REPOSITORY, EXECUTION_PROVIDER, …) are
 * passed through to it unchanged and validated by the origin. Documented in the README "Quick start".
 */
export const stackConfigSchema = z.object({
  /** Where local.json, the example request and the edge's generated env file go (git-ignored). */
  AISERVE_STATE_DIR: z.string().default('.aiserve'),
  /** Unset: embedded PGlite on PGLITE_DATA_DIR. A postgres:// URL: use that server instead. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (unset for the embedded PGlite)')
    .optional(),
  PGLITE_DATA_DIR: z.string().default('.data/pglite'),
  PGLITE_PORT: port.default(0),
  /** Set: start the Upstash REST bridge in front of this Redis; unset: the edge uses its in-memory stores. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  UPSTASH_BRIDGE_PORT: port.default(0),
  NEON_WS_PROXY_PORT: port.default(0),
  /** The origin's port; the origin's own PORT is honoured when ORIGIN_PORT is unset. */
  ORIGIN_PORT: port.optional(),
  PORT: port.default(8000),
  HOST: z.string().default('127.0.0.1'),
  EDGE_PORT: port.default(8787),
  /** false: origin only, unsigned (what `npm start` did before the edge existed). */
  AISERVE_EDGE: bool.default(true),
  /** Bound on each part's start-up (models load, workerd boots). */
  AISERVE_START_TIMEOUT_MS: z.coerce.number().int().min(1000).default(180_000),
});

export type StackConfig = z.infer<typeof stackConfigSchema>;

import { z } from 'zod';
import { bool } from './fields.ts';

const port = z.coerce.number().int().min(0).max(65535);

/**
 * The standalone Upstash REST bridge (`tsx scripts/dev/upstash-bridge.ts`). Each field's `.describe()` is its
 * documentation (`npm run docs:config`), as in every schema of this file.
 */
export const upstashBridgeConfigSchema = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379')
    .describe('The Redis the bridge forwards commands to.'),
  UPSTASH_BRIDGE_HOST: z.string().default('127.0.0.1').describe('Bind address.'),
  UPSTASH_BRIDGE_PORT: port.default(8079).describe('Port; `0` picks a free one.'),
  UPSTASH_BRIDGE_TOKEN: z
    .string()
    .min(8)
    .optional()
    .describe('Bearer token clients must send. Unset: a random token, printed at start.'),
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
  NEON_WS_PROXY_HOST: z.string().default('127.0.0.1').describe('Bind address.'),
  NEON_WS_PROXY_PORT: port.default(5433).describe('Port; `0` picks a free one.'),
  NEON_WS_PROXY_TARGET: hostPort
    .prefault('127.0.0.1:5432')
    .describe('`host:port` of the Postgres the proxy pipes every connection to.'),
});

/** The standalone PGlite socket server (`tsx scripts/dev/pglite-server.ts`). */
export const pgliteServerConfigSchema = z.object({
  PGLITE_DATA_DIR: z
    .string()
    .default('.data/pglite')
    .describe("PGlite's data folder; `memory://` for a throw-away database."),
  PGLITE_HOST: z.string().default('127.0.0.1').describe('Bind address.'),
  PGLITE_PORT: port.default(5433).describe('Port; `0` picks a free one.'),
  PGLITE_MAX_CONNECTIONS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(64)
    .describe("Client connections multiplexed over PGlite's one backend."),
});

/**
 * `npm start` (scripts/dev/start.ts). The origin's own variables (MODEL_REPOSITORY, EXECUTION_PROVIDER, …) are
 * passed through to it unchanged and validated by the origin.
 */
export const stackConfigSchema = z.object({
  AISERVE_STATE_DIR: z
    .string()
    .default('.aiserve')
    .describe(
      "Where `local.json`, `edge.env`, the example request and wrangler's local state go (git-ignored).",
    ),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (unset for the embedded PGlite)')
    .optional()
    .describe(
      'A `postgres://` server to use instead of PGlite (migrated and seeded the same way). Unset: embedded PGlite on `PGLITE_DATA_DIR`.',
    ),
  PGLITE_DATA_DIR: z.string().default('.data/pglite').describe("PGlite's data folder (kept across runs)."),
  PGLITE_PORT: port.default(0).describe("PGlite's TCP port; `0` picks a free one."),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional()
    .describe(
      'Set: start the Upstash REST bridge in front of this Redis (the edge uses it for its key cache, limits, response cache, origin registry and usage stream) and the usage drain that moves the usage stream into Postgres. Unset: the edge uses its in-memory stores and writes usage to Postgres itself.',
    ),
  UPSTASH_BRIDGE_PORT: port.default(0).describe("The bridge's port; `0` picks a free one."),
  NEON_WS_PROXY_PORT: port.default(0).describe("The Neon WebSocket proxy's port; `0` picks a free one."),
  ORIGIN_PORT: port.optional().describe("The origin's port. Unset: the origin's own `PORT`."),
  PORT: port.default(8000).describe("The origin's port when `ORIGIN_PORT` is unset."),
  HOST: z.string().default('127.0.0.1').describe('The address every part binds to.'),
  EDGE_PORT: port.default(8787).describe("The edge's port under `wrangler dev`."),
  AISERVE_EDGE: bool
    .default(true)
    .describe(
      '`false`: no edge; the origin alone, unsigned (`ORIGIN_AUTH=off`), and the printed curl goes straight to it.',
    ),
  AISERVE_START_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(180_000)
    .describe(
      'Bound on each part becoming ready (models load, workerd boots), in milliseconds; past it everything stops and `npm start` exits 1.',
    ),
});

export type StackConfig = z.infer<typeof stackConfigSchema>;

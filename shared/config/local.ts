import { z } from 'zod';

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

import { z } from 'zod';
import { commaList, int } from './fields.ts';
import { loadConfig } from './load.ts';

export type DatabaseDriver = 'pg' | 'neon' | 'pglite';

/** `postgres://…` for a server; `pglite://<dir>` or `memory://` for embedded PGlite. */
const databaseUrl = z
  .string()
  .refine((s) => /^(postgres|postgresql|pglite):\/\//.test(s) || s === 'memory://', {
    message: 'must be a postgres:// or postgresql:// URL, pglite://<dir>, or memory://',
  });

/**
 * The database client's configuration (shared/db/client.ts). Read through `loadDataConfig`, which fails
 * fast naming every bad variable. Documented in the README section "Data layer, keys and CLI".
 */
export const dataConfigSchema = z
  .object({
    DATABASE_URL: databaseUrl.default('pglite://.data/pglite'),
    /** Comma-separated read replica URLs (same driver as the primary). */
    DATABASE_REPLICA_URLS: commaList.pipe(z.array(databaseUrl)),
    DATABASE_DRIVER: z.enum(['pg', 'neon', 'pglite']).optional(),
    DATABASE_POOL_MAX: int(1, 1000).default(10),
    /** Connections are closed and replaced after this long, so a pool follows failovers and DNS changes. */
    DATABASE_MAX_LIFETIME_SECONDS: int(0).default(1800),
    DATABASE_IDLE_TIMEOUT_MS: int(0).default(30_000),
    /** 0 waits forever; the CLI and tests rely on a bound to report an unreachable database quickly. */
    DATABASE_CONNECT_TIMEOUT_MS: int(0).default(10_000),
    /** Server-side statement_timeout (0 = none). */
    DATABASE_STATEMENT_TIMEOUT_MS: int(0).default(30_000),
    /** Queries slower than this are logged with duration and SQL text (never parameter values). */
    DATABASE_SLOW_QUERY_MS: int(0).default(500),
    /** After a write, reads in the same logical session go to the primary for this long. */
    DATABASE_STICKY_MS: int(0).default(5_000),
    /** host:port of a local WebSocket-to-TCP proxy for the Neon driver (local stack and tests only). */
    NEON_WS_PROXY: z
      .string()
      .regex(/^[^\s/:]+:\d{1,5}$/, 'must be host:port')
      .optional(),
  })
  .transform((c, ctx) => {
    const driver = c.DATABASE_DRIVER ?? driverFromUrl(c.DATABASE_URL);
    const embedded = driverFromUrl(c.DATABASE_URL) === 'pglite';
    if (embedded && driver !== 'pglite') {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_DRIVER'],
        message: `driver ${driver} needs a postgres:// DATABASE_URL`,
      });
    }
    if (!embedded && driver === 'pglite') {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_DRIVER'],
        message: 'pglite needs DATABASE_URL=pglite://<dir> or memory://',
      });
    }
    if (driver === 'pglite' && c.DATABASE_REPLICA_URLS.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_REPLICA_URLS'],
        message: 'embedded PGlite has no replicas',
      });
    }
    return { ...c, DATABASE_DRIVER: driver };
  });

export type DataConfig = z.output<typeof dataConfigSchema>;

export function driverFromUrl(url: string): DatabaseDriver {
  return url.startsWith('pglite://') || url === 'memory://' ? 'pglite' : 'pg';
}

export function loadDataConfig(env: Record<string, string | undefined>): DataConfig {
  return loadConfig(dataConfigSchema, env, 'database');
}

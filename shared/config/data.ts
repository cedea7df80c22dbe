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
 * fast naming every bad variable. Each field's `.describe()` is its documentation (`npm run docs:config`).
 */
export const dataConfigSchema = z
  .object({
    DATABASE_URL: databaseUrl
      .default('pglite://.data/pglite')
      .describe(
        '`postgres://…` (or `postgresql://`) for a server; `pglite://<dir>` or `memory://` for embedded PGlite.',
      ),
    DATABASE_REPLICA_URLS: commaList
      .pipe(z.array(databaseUrl))
      .describe(
        'Comma-separated read replica URLs (same driver as the primary): selects go to a random replica, writes to the primary.',
      ),
    DATABASE_DRIVER: z
      .enum(['pg', 'neon', 'pglite'])
      .optional()
      .describe(
        '`pg` (node-postgres), `neon` (`@neondatabase/serverless`, over WebSockets), `pglite` (embedded). Unset: from the URL (`pglite` for `pglite://` and `memory://`, else `pg`).',
      ),
    DATABASE_POOL_MAX: int(1, 1000)
      .default(10)
      .describe('Connections per pool (the primary and each replica).'),
    DATABASE_MAX_LIFETIME_SECONDS: int(0)
      .default(1800)
      .describe(
        "A connection is closed and replaced after this long, in seconds, so a pool follows failovers and DNS changes; `0` = forever. Must be `0` under workerd (the Neon pool's lifetime timer uses `unref()`, which workerd lacks).",
      ),
    DATABASE_IDLE_TIMEOUT_MS: int(0)
      .default(30_000)
      .describe('Idle connections are closed after this long, in milliseconds.'),
    DATABASE_CONNECT_TIMEOUT_MS: int(0)
      .default(10_000)
      .describe(
        'Give up connecting after this long, in milliseconds; `0` waits forever. The CLI uses 5000, to report an unreachable database quickly.',
      ),
    DATABASE_STATEMENT_TIMEOUT_MS: int(0)
      .default(30_000)
      .describe(
        'Server-side `statement_timeout` in milliseconds (`0` = none); a longer statement fails with SQLSTATE 57014.',
      ),
    DATABASE_SLOW_QUERY_MS: int(0)
      .default(500)
      .describe(
        'Statements slower than this, in milliseconds, are logged with duration and SQL text (never parameter values).',
      ),
    DATABASE_STICKY_MS: int(0)
      .default(5_000)
      .describe(
        "After a write through a session, that session's reads go to the primary for this long, in milliseconds.",
      ),
    NEON_WS_PROXY: z
      .string()
      .regex(/^[^\s/:]+:\d{1,5}$/, 'must be host:port')
      .optional()
      .describe(
        '`host:port` of a local WebSocket-to-TCP proxy for the Neon driver (`/v1?address=host:port`, plain `ws`); the local stack and tests only.',
      ),
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

function driverFromUrl(url: string): DatabaseDriver {
  return url.startsWith('pglite://') || url === 'memory://' ? 'pglite' : 'pg';
}

export function loadDataConfig(env: Record<string, string | undefined>): DataConfig {
  return loadConfig(dataConfigSchema, env, 'database');
}

import type { DataConfig } from '../../../shared/config/data.ts';

/**
 * The pool settings both pg-compatible drivers (node-postgres, Neon's serverless Pool) take from the data
 * configuration, so the two pools can never be sized or timed differently.
 */
export function poolOptions(url: string, config: DataConfig) {
  return {
    connectionString: url,
    max: config.DATABASE_POOL_MAX,
    maxLifetimeSeconds: config.DATABASE_MAX_LIFETIME_SECONDS,
    idleTimeoutMillis: config.DATABASE_IDLE_TIMEOUT_MS,
    connectionTimeoutMillis: config.DATABASE_CONNECT_TIMEOUT_MS,
    ...(config.DATABASE_STATEMENT_TIMEOUT_MS > 0
      ? { statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS }
      : {}),
  };
}

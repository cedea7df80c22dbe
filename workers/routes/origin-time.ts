import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';

/**
 * Runs a route's origin call and records, for the usage event (`originMs`), how long this request waited on
 * it: retries and a wait on a coalesced call included, and also when it failed (a timeout is origin time).
 */
export async function timeOrigin<T>(c: Context<AppEnv>, call: () => Promise<T>): Promise<T> {
  const platform = c.get('platform');
  const started = platform.now();
  try {
    return await call();
  } finally {
    c.set('originMs', platform.now() - started);
  }
}

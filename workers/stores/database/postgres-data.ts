import { insertUsageEvents } from '../../../drizzle/pipeline/insert-usage.ts';
import { findKeyForAuth, touchLastUsed } from '../../../drizzle/queries/keys.ts';
import { findModelSettings } from '../../../drizzle/queries/models.ts';
import { createMemoryRateLimiter } from '../limits/memory-rate-limiter.ts';
import type { DataAccess } from './data-access.ts';
import type { DatabaseSource } from './database-source.ts';

export interface PostgresDataOptions {
  /**
   * Unknown prefixes re-checked on the primary, per minute and per isolate (token bucket; default 1200 a
   * minute, bursts of 20). Past it a replica's miss stands, so a flood of made-up keys cannot turn into a
   * flood of primary reads.
   */
  primaryRechecks?: { perMinute: number; burst: number };
  now?: () => number;
}

/**
 * The hot path's Postgres operations on the data layer's queries: reads on a replica, writes on the primary.
 *
 * Read your writes for keys: a replica that has not yet replayed a key's creation answers "unknown", and the
 * client that just created the key (through any isolate, or the CLI) would get a 401. So a miss on a replica is
 * asked again of the primary before it is believed. It costs one indexed lookup, only for prefixes that passed
 * the key format check, at most `primaryRechecks` a minute per isolate; the key cache then remembers the
 * confirmed miss (`AUTH_NEGATIVE_TTL_MS`) and the auth-failure limit charges the client's IP, so one guessed
 * prefix reaches the primary at most once per that window. Without replicas `db` is the primary: no re-check.
 */
export function createPostgresDataAccess(
  source: DatabaseSource,
  options: PostgresDataOptions = {},
): DataAccess {
  const budget = options.primaryRechecks ?? { perMinute: 1200, burst: 20 };
  const rechecks = createMemoryRateLimiter({ now: options.now ?? (() => Date.now()), maxBuckets: 1 });
  const mayRecheck = async () =>
    (await rechecks.limit({ identifier: 'primary-recheck', ...budget, cost: 1 })).success;
  return {
    findKeyForAuth: (prefix) =>
      source.use(async (h) => {
        const record = await findKeyForAuth(h.db, prefix);
        if (record || h.replicas.length === 0 || !(await mayRecheck())) return record;
        return findKeyForAuth(h.primary, prefix);
      }),
    touchKeys: async (prefixes) => {
      await source.use((h) => touchLastUsed(h.primary, prefixes));
    },
    insertUsage: async (events) => {
      await source.use((h) => insertUsageEvents(h.primary, events));
    },
    findModelSettings: (name) => source.use((h) => findModelSettings(h.db, name)),
  };
}

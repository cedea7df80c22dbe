import { insertUsageEvents } from '../../../drizzle/pipeline/insert-usage.ts';
import { findKeyForAuth, touchLastUsed } from '../../../drizzle/queries/keys.ts';
import { findModelSettings } from '../../../drizzle/queries/models.ts';
import type { DataAccess } from './data-access.ts';
import type { DatabaseSource } from './database-source.ts';

/** The hot path's Postgres operations on DATA-CORE's queries: reads on a replica, writes on the primary. */
export function createPostgresDataAccess(source: DatabaseSource): DataAccess {
  return {
    findKeyForAuth: (prefix) => source.use((h) => findKeyForAuth(h.db, prefix)),
    touchKeys: async (prefixes) => {
      await source.use((h) => touchLastUsed(h.primary, prefixes));
    },
    insertUsage: async (events) => {
      await source.use((h) => insertUsageEvents(h.primary, events));
    },
    findModelSettings: (name) => source.use((h) => findModelSettings(h.db, name)),
  };
}

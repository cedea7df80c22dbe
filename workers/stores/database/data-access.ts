import type { AuthKeyRecord } from '../../../shared/keys/auth-record.ts';
import type { UsageEvent } from '../../../shared/usage/event.ts';
import type { ModelCacheSettings } from '../../cache/policy.ts';

/**
 * The Postgres operations the edge's hot path needs, behind one interface so the app is built with a real
 * database (`createPostgresDataAccess`, the data layer's queries) or with an in-memory one in
 * unit tests and benchmarks.
 */
export interface DataAccess {
  /** The key and its tenant, or null for an unknown prefix: from a read replica, a miss re-checked on the primary. */
  findKeyForAuth(prefix: string): Promise<AuthKeyRecord | null>;
  /** Batched `api_keys.last_used_at = now()` by key prefix. */
  touchKeys(prefixes: string[]): Promise<void>;
  /** Idempotent batch insert (ON CONFLICT DO NOTHING on the event id). */
  insertUsage(events: UsageEvent[]): Promise<void>;
  /** One model's cache settings and visibility; null when it has no row (the defaults apply). */
  findModelSettings(name: string): Promise<ModelCacheSettings | null>;
}

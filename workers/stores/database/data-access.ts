import type { AuthKeyRecord } from '../../../shared/keys/auth-record.ts';
import type { UsageEvent } from '../../../shared/usage/event.ts';

/**
 * The Postgres operations the edge's hot path needs, behind one interface so the app is built with a real
 * database (`createPostgresDataAccess`, drizzle queries through `shared/db`) or with an in-memory one in
 * unit tests and benchmarks.
 */
export interface DataAccess {
  /** Read replica: the key and its tenant, or null for an unknown prefix. */
  findKeyForAuth(prefix: string): Promise<AuthKeyRecord | null>;
  /** Batched `api_keys.last_used_at = now()` by key prefix. */
  touchKeys(prefixes: string[]): Promise<void>;
  /** Idempotent batch insert (ON CONFLICT DO NOTHING on the event id). */
  insertUsage(events: UsageEvent[]): Promise<void>;
}

import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from '../schema/index.ts';

type Schema = typeof schema;

/** The drizzle database every query function accepts, whichever driver (pg, neon, pglite) is behind it. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

/** One slow query: duration and SQL text only; parameter values never leave the driver (they may be keys). */
export interface SlowQueryEntry {
  durationMs: number;
  sql: string;
  /** Which connection answered: `primary` or `replica-<n>`. */
  target: string;
}

export type SlowQueryLog = (entry: SlowQueryEntry) => void;

/** A driver's connection: its drizzle database and how to release it. */
export interface DriverConnection {
  db: Database;
  close(): Promise<void>;
}

import type { SQL } from 'drizzle-orm';

/**
 * The slice of a drizzle Postgres database the pipeline needs. Every driver `createDatabase` returns (pg, neon,
 * pglite, and `withReplicas`, whose `execute`/`transaction` go to the primary) satisfies it, so these modules
 * take any of them and tests can pass a transaction.
 */
export interface SqlExecutor {
  execute(query: SQL): PromiseLike<unknown>;
}

export interface SqlDatabase extends SqlExecutor {
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

/** Rows of a raw query. All three drivers return `{ rows }`; the SQL casts keep value types driver-neutral. */
export async function queryRows<T>(db: SqlExecutor, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as { rows?: T[] };
  return result.rows ?? [];
}

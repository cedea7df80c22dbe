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

/**
 * Rows an INSERT/UPDATE/DELETE affected (an INSERT … ON CONFLICT DO NOTHING counts only the rows it added).
 * pg, the Neon driver and PGlite all report `rowCount`.
 */
export async function affectedRowCount(db: SqlExecutor, query: SQL): Promise<number> {
  const { rowCount } = (await db.execute(query)) as { rowCount?: number | null };
  if (typeof rowCount !== 'number')
    throw new Error('the database driver did not report how many rows it wrote');
  return rowCount;
}

/** The SQLSTATE of a driver error, looking through drizzle's wrapper (`DrizzleQueryError.cause`). */
export function sqlStateOf(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A row that Postgres refuses on its own merits (data exception, integrity violation): retrying cannot help,
 * so it is dead-lettered. Everything else (connection refused, database missing, timeouts) is transient.
 */
export function isRowRejection(err: unknown): boolean {
  const state = sqlStateOf(err);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}

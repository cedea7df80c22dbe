/**
 * The database error itself (with its SQLSTATE `code` and the server's `message`), looking through drizzle's
 * DrizzleQueryError wrapper, whose own message embeds parameter values and must never be shown or logged.
 */
function pgErrorOf(err: unknown): { code: string; message: unknown } | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return { code, message };
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The SQLSTATE of a database error. */
export function pgErrorCode(err: unknown): string | undefined {
  return pgErrorOf(err)?.code;
}

/**
 * What may be logged of a failed database call: the SQLSTATE and the server's message, or, for an error that
 * never reached the server (connection refused, timeout), the innermost cause's name and message. Never the
 * wrapper's message, which embeds the query's parameters (a key's secret hash, a tenant's data).
 */
export function loggableDbError(err: unknown): { sqlstate?: string; error: string } {
  const pg = pgErrorOf(err);
  if (pg) return { sqlstate: pg.code, error: String(pg.message) };
  let current: unknown = err;
  for (let depth = 0; depth < 5; depth++) {
    const cause = (current as { cause?: unknown } | null)?.cause;
    if (!cause || typeof cause !== 'object') break;
    current = cause;
  }
  // drizzle's query wrapper with nothing beneath it: its own message is the query and its parameters.
  if (current === err && err !== null && typeof err === 'object' && 'params' in err) {
    return { error: 'DrizzleQueryError' };
  }
  const { name, message } = (current ?? {}) as { name?: unknown; message?: unknown };
  return {
    error: `${typeof name === 'string' ? name : 'Error'}: ${typeof message === 'string' ? message : String(current)}`,
  };
}

export const UNIQUE_VIOLATION = '23505';

/**
 * Postgres's own message for a data exception (SQLSTATE class 22: a NUL byte in text, a malformed uuid or
 * timestamp, a number out of range), which only a value sent by the caller can cause here; undefined for any
 * other error. The message comes from the server's error, never from drizzle's wrapper around it.
 */
export function pgDataException(err: unknown): string | undefined {
  const pg = pgErrorOf(err);
  return pg?.code.startsWith('22') && typeof pg.message === 'string' ? pg.message : undefined;
}

/**
 * A row that Postgres refuses on its own merits (data exception, integrity violation): retrying cannot help,
 * so it is dead-lettered. Everything else (connection refused, database missing, timeouts) is transient.
 */
export function isRowRejection(err: unknown): boolean {
  const state = pgErrorCode(err);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}

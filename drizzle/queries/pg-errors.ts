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

import type { AppError } from '../../shared/errors/index.ts';

/** Exit codes, documented in docs/reference/cli.md (scripts can branch on them). */
export const EXIT = {
  OK: 0,
  /** A bug or an unexpected failure. */
  INTERNAL: 1,
  /** Bad arguments or values: nothing was changed. */
  USAGE: 2,
  /** Unknown tenant, key or model. */
  NOT_FOUND: 3,
  /** Already exists, or the state forbids it (rotating a revoked key). */
  CONFLICT: 4,
  /** The database (or Redis) cannot be reached, or has no schema yet. */
  UNAVAILABLE: 5,
} as const;

export function exitCodeOf(err: AppError): number {
  switch (err.code) {
    case 'INVALID_REQUEST':
    case 'INVALID_INPUT':
    case 'INVALID_JSON':
    case 'UNSUPPORTED_MEDIA_TYPE':
    case 'PAYLOAD_TOO_LARGE':
    // A key the edge refuses is a bad argument too (`inference` commands).
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
      return EXIT.USAGE;
    case 'NOT_FOUND':
    case 'MODEL_NOT_FOUND':
      return EXIT.NOT_FOUND;
    case 'CONFLICT':
      return EXIT.CONFLICT;
    case 'DEPENDENCY_UNAVAILABLE':
    case 'UNAVAILABLE':
    // What the edge answers when it or the fleet cannot serve now (`inference` commands).
    case 'RATE_LIMITED':
    case 'NO_HEALTHY_ORIGIN':
    case 'MODEL_NOT_READY':
    case 'QUEUE_FULL':
    case 'DRAINING':
    case 'UPSTREAM_ERROR':
    case 'DEADLINE_EXCEEDED':
      return EXIT.UNAVAILABLE;
    default:
      return EXIT.INTERNAL;
  }
}

const CONNECT_ERRNOS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
]);

function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  let current: unknown = err;
  for (let i = 0; i < 6 && current && typeof current === 'object'; i++) {
    out.push(current);
    const next = (current as { cause?: unknown }).cause;
    // AggregateError (dual-stack connect attempts) carries the real errors in `errors`.
    const inner = (current as { errors?: unknown[] }).errors;
    current = next ?? (Array.isArray(inner) ? inner[0] : undefined);
  }
  return out;
}

function codeIn(err: unknown): string | undefined {
  for (const e of chain(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function messageIn(err: unknown): string {
  return chain(err)
    .map((e) => (e instanceof Error ? e.message : ''))
    .join(' | ');
}

/** `host:port/db` of a database URL, without user or password. */
export function describeDatabase(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) return url;
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/**
 * Turns a database failure into a message an operator can act on, naming the host (never the password,
 * never drizzle's "Failed query … params:" text, which embeds bound values). Null when it is not one.
 */
export function databaseProblem(err: unknown, url: string): string | null {
  const where = describeDatabase(url);
  const code = codeIn(err);
  const message = messageIn(err);
  if (code && CONNECT_ERRNOS.has(code)) return `cannot reach the database at ${where} (${code})`;
  if (/connection timeout|timeout expired|Connection terminated/i.test(message)) {
    return `cannot reach the database at ${where} (connection timed out)`;
  }
  if (code === '3D000') return `database ${where} does not exist`;
  if (code === '28P01' || code === '28000')
    return `the database at ${where} refused the credentials (${code})`;
  if (code === '57P03') return `the database at ${where} is starting up or shutting down (57P03)`;
  if (code === '42P01')
    return `the database at ${where} has no AIServe schema: run \`npm run db:migrate\` first`;
  return null;
}

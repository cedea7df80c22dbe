import type { DatabaseHandle } from '../../../drizzle/client/client.ts';
import type { AuditBy } from '../../../drizzle/queries/audit.ts';
import { loggableDbError, pgDataException } from '../../../drizzle/queries/pg-errors.ts';
import { findTenantByRef } from '../../../drizzle/queries/tenants.ts';
import type { Tenant } from '../../../drizzle/schema/tenants.ts';
import { AppError, isAppError } from '../../../shared/errors/index.ts';
import type { AppContext } from '../../env.ts';
import { actorOf, auditRequestOf } from '../../middleware/admin-audit/request.ts';
import type { AuthContext } from '../../middleware/auth/index.ts';

export function authOf(c: AppContext): AuthContext {
  const auth = c.get('auth');
  // The admin auth middleware runs before every admin route; reaching here without it is a wiring bug.
  if (!auth) throw new AppError('UNAUTHENTICATED', 'admin API needs a bearer token');
  return auth;
}

export function requireOperator(c: AppContext): AuthContext {
  const auth = authOf(c);
  if (!auth.operator)
    throw new AppError('FORBIDDEN', 'this admin operation needs the operator token (ADMIN_TOKEN)');
  return auth;
}

const READ_ONLY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The caller as a sticky session: the operator, or the tenant an admin key acts for. */
function sessionOf(auth: AuthContext): string {
  return auth.operator ? 'admin:operator' : `admin:tenant:${auth.tenantId ?? 'none'}`;
}

/**
 * Runs `fn` with the database. Reads through `handle.db` follow the read-your-writes rule: a request that may
 * write (any method but GET, HEAD, OPTIONS) reads from the primary throughout and keeps its caller's reads there
 * for `DATABASE_STICKY_MS` after it (the sticky session is the operator, or the admin key's tenant, per isolate),
 * so a caller that creates something and asks for it next does not read a replica that lags. A missing
 * database or one that cannot be reached is a 503 naming Postgres; `AppError`s from the queries (validation, conflicts) pass through unchanged. A value Postgres refuses as data
 * (a NUL byte in a name, say) is the request's fault: 400, not a 503 that would send the caller to retry and
 * tell the operator Postgres is down.
 */
export async function withDatabase<T>(c: AppContext, fn: (handle: DatabaseHandle) => Promise<T>): Promise<T> {
  const source = c.get('services').database;
  if (!source) {
    throw new AppError('DEPENDENCY_UNAVAILABLE', 'the admin API needs Postgres, and DATABASE_URL is not set');
  }
  const session = sessionOf(authOf(c));
  const writes = !READ_ONLY_METHODS.has(c.req.method);
  try {
    return await source.use((handle) => {
      if (writes) handle.sticky.markWrite(session);
      return fn({ ...handle, db: handle.session(session) });
    });
  } catch (err) {
    if (isAppError(err)) throw err;
    const refused = pgDataException(err);
    if (refused !== undefined) {
      c.get('logger').warn({ reason: refused }, 'admin request refused by Postgres as data');
      throw new AppError('INVALID_REQUEST', `a value in the request cannot be stored: ${refused}`);
    }
    c.get('logger').error(loggableDbError(err), 'admin database operation failed');
    throw new AppError('DEPENDENCY_UNAVAILABLE', 'Postgres request failed', {
      cause: err,
      retryAfterSeconds: 5,
    });
  }
}

/**
 * The tenant named in the path (id or name), if the caller may act on it: the operator on any tenant, a key
 * with the `admin` scope on its own tenant only. Another tenant is a 404, so tenants cannot probe each other.
 * A replica's "no such tenant" is asked again of the primary (the tenant may be younger than the replica's
 * lag, created by another caller or through another isolate); the admin API is authenticated, so this cannot
 * be used to load the primary.
 */
export async function resolveTenant(c: AppContext, handle: DatabaseHandle, ref: string): Promise<Tenant> {
  const auth = authOf(c);
  const tenant =
    (await findTenantByRef(handle.db, ref)) ??
    (handle.replicas.length > 0 ? await findTenantByRef(handle.primary, ref) : null);
  if (!tenant || (!auth.operator && tenant.id !== auth.tenantId)) {
    throw new AppError('NOT_FOUND', `no tenant "${ref}"`);
  }
  return tenant;
}

/**
 * Who makes an admin change and from where (request id, client address, user agent), for the audit row each
 * write in drizzle/queries commits in the same transaction as the change: when the append fails, the change is
 * rolled back and the client gets the 503.
 */
export function auditBy(c: AppContext, auth: AuthContext): AuditBy {
  return { actor: actorOf(auth), request: auditRequestOf(c) };
}

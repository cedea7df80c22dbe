import type { Context, MiddlewareHandler } from 'hono';
import { type AuditEntry, type AuditRequest, appendAudit } from '../../../drizzle/queries/audit.ts';
import { isAppError } from '../../../shared/errors/index.ts';
import { parseApiKey } from '../../../shared/keys/api-key.ts';
import type { EdgeMetrics } from '../../observability/metrics.ts';
import type { DatabaseSource } from '../../stores/database/database-source.ts';
import type { AuthVariables } from '../auth/index.ts';
import { bearer } from '../auth/presented-key.ts';
import type { EdgeContextVariables } from '../edge-context/index.ts';
import type { RequestIdVariables } from '../request-id/index.ts';
import { actorOf, auditRequestOf, printable } from './request.ts';
import { RefusalSampler, type RefusalSamplerOptions } from './sampler.ts';

/** The action of a refused admin request's audit row. */
const ADMIN_REFUSED_ACTION = 'admin.refused';

export interface AdminRefusalAuditOptions extends RefusalSamplerOptions {
  /** Where the rows go; null (no DATABASE_URL): nothing is written. */
  database: DatabaseSource | null;
  metrics: EdgeMetrics;
}

type Variables = AuthVariables & RequestIdVariables & Pick<EdgeContextVariables, 'platform'>;

/** What the request presented: nothing, something taken as the operator token, or an API key (by its prefix). */
function credentialOf(header: string | undefined): { credential: string; keyPrefix?: string } {
  const token = bearer(header);
  if (!token) return { credential: 'none' };
  const parsed = parseApiKey(token);
  if (parsed) return { credential: 'api-key', keyPrefix: parsed.prefix };
  return { credential: token.startsWith('ais_') ? 'malformed-key' : 'operator-token' };
}

function refusalEntry(
  c: Context<{ Variables: Variables }>,
  request: AuditRequest,
  leftOut: number,
): AuditEntry {
  const status = c.res.status;
  const err = c.error;
  const auth = c.get('auth');
  const presented = credentialOf(c.req.header('authorization'));
  return {
    actor: auth ? actorOf(auth) : 'anonymous',
    action: ADMIN_REFUSED_ACTION,
    target: `route:${c.req.method} ${printable(new URL(c.req.url).pathname, 200)}`,
    details: {
      status,
      code: isAppError(err) ? err.code : status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN',
      reason: isAppError(err) ? printable(err.message, 300) : `HTTP ${status}`,
      ...presented,
      // A verified key (a 403 after auth); `keyPrefix` alone is what an unverified token claims.
      ...(auth?.keyId ? { keyId: auth.keyId } : {}),
      leftOut,
      request,
    },
  };
}

/**
 * Writes an `admin.refused` audit row for an admin request answered 401 or 403, after the answer and off its
 * path (waitUntil): a refusal does not wait for Postgres, and Postgres being down does not change it. Mounted
 * outside the failed-authentication limit, so what that limit refuses (429) is never written; what is left is
 * sampled per client address and in all (RefusalSampler), which bounds how fast refusals can grow the log.
 *
 * @example
 * app.use('/admin/v1/*', adminRefusalAudit({ database, metrics, now }));
 */
export function adminRefusalAudit(
  options: AdminRefusalAuditOptions,
): MiddlewareHandler<{ Variables: Variables }> {
  const { database, metrics } = options;
  const sampler = new RefusalSampler(options);
  return async function adminRefusalAuditMiddleware(c, next) {
    await next();
    const status = c.res.status;
    if ((status !== 401 && status !== 403) || !database) return;
    const request = auditRequestOf(c);
    const admitted = sampler.admit(request.ip);
    if (!admitted) {
      metrics.inc('edge_admin_refusals_unaudited_total');
      return;
    }
    const entry = refusalEntry(c, request, admitted.leftOut);
    const logger = c.get('logger');
    const write = database
      .use((h) => appendAudit(h.primary, entry))
      .then(
        () => metrics.inc('edge_admin_refusals_audited_total'),
        (err: unknown) => {
          metrics.inc('edge_admin_refusals_unaudited_total');
          logger.warn({ err, status, target: entry.target }, 'could not audit a refused admin request');
        },
      );
    c.get('platform').waitUntil(write);
  };
}

import type { Context } from 'hono';
import type { AuditRequest } from '../../../drizzle/queries/audit.ts';
import { clientAddress } from '../../adapters/client-address.ts';
import type { AuthContext } from '../auth/index.ts';
import type { RequestIdVariables } from '../request-id/index.ts';

/** Control characters become `?` and the value is cut to `max`: jsonb refuses NUL, and a log line wants one line. */
export function printable(value: string, max: number): string {
  return value.replace(/\p{Cc}/gu, '?').slice(0, max);
}

/**
 * The request an audit row names: the request id the client got back, the client address as the per-IP rate
 * limit sees it (never a header a Node client could forge), and the user agent (cut to 256 characters).
 */
export function auditRequestOf(c: Context): AuditRequest {
  const userAgent = c.req.header('user-agent');
  return {
    id: (c.get('requestId') as RequestIdVariables['requestId'] | undefined) ?? 'unknown',
    ip: printable(clientAddress(c), 64),
    userAgent: userAgent ? printable(userAgent, 256) : null,
  };
}

/** Who did it, for the audit log: the operator, or the admin key by its public prefix. */
export function actorOf(auth: AuthContext): string {
  return auth.operator ? 'operator' : `key:${auth.prefix}`;
}

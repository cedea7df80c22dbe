import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../../shared/errors/index.ts';
import type { Verifier, VerifyFailureReason } from '../../shared/signing/index.ts';

/** Paths load balancers and Prometheus call without signing. A trailing `*` matches any suffix. */
const DEFAULT_SIGNATURE_EXEMPT_PATHS: readonly string[] = ['/v2/health/*', '/metrics'];

export interface VerifySignatureOptions {
  /** Required when `enabled`. */
  verifier: Verifier | null;
  /** ORIGIN_AUTH=hmac; false makes the middleware a pass-through. */
  enabled: boolean;
  exemptPaths?: readonly string[];
  /** How to get the raw body (the server passes its bounded, cached reader); default `c.req.arrayBuffer()`. */
  readBody?: (c: Context) => Promise<Uint8Array>;
  /** For metrics and logs; called before the 401 is thrown. */
  onReject?: (reason: VerifyFailureReason, message: string) => void;
}

function isExemptPath(path: string, patterns: readonly string[]): boolean {
  for (const pattern of patterns) {
    if (pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern) return true;
  }
  return false;
}

/** The request target as received: everything after the authority of the absolute URL. */
export function pathWithQueryOf(url: string): string {
  const authorityStart = url.indexOf('://');
  const pathStart = url.indexOf('/', authorityStart === -1 ? 0 : authorityStart + 3);
  if (pathStart === -1) return '/';
  const hash = url.indexOf('#', pathStart);
  return hash === -1 ? url.slice(pathStart) : url.slice(pathStart, hash);
}

/**
 * Verifies the edge's HMAC signature. Reads the body through `c.req.arrayBuffer()`, which Hono caches, so
 * later handlers read it again with `c.req.json()/arrayBuffer()/bytes()` (never `c.req.raw`, which is
 * consumed). Put a body-size limit before this middleware. Failures throw 401 UNAUTHENTICATED.
 */
export function verifySignature(options: VerifySignatureOptions): MiddlewareHandler {
  if (!options.enabled) return async (_c, next) => next();
  const verifier = options.verifier;
  if (!verifier) throw new Error('verifySignature: a verifier is required when signing is enabled');
  const exempt = options.exemptPaths ?? DEFAULT_SIGNATURE_EXEMPT_PATHS;

  return async (c, next) => {
    if (isExemptPath(c.req.path, exempt)) return next();
    const body = options.readBody ? await options.readBody(c) : new Uint8Array(await c.req.arrayBuffer());
    const result = await verifier.verify({
      method: c.req.method,
      pathWithQuery: pathWithQueryOf(c.req.url),
      headers: c.req.raw.headers,
      body,
    });
    if (!result.ok) {
      options.onReject?.(result.reason, result.message);
      throw new AppError('UNAUTHENTICATED', `request signature rejected: ${result.message}`);
    }
    return next();
  };
}

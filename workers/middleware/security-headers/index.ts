import type { MiddlewareHandler } from 'hono';
import { responseHeaders } from '../response-headers.ts';

export interface SecurityHeadersOptions {
  hstsMaxAgeSeconds: number;
  /** Exact browser origins allowed to call the API; `*` allows any. Empty: no CORS headers. */
  corsOrigins: string[];
}

/**
 * The API reference page loads Scalar's script from its CDN and runs an inline bootstrap; everything else the
 * edge serves as HTML is held to `default-src 'none'`.
 */
const DOCS_CSP =
  "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; " +
  "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; " +
  "font-src 'self' data: https://fonts.gstatic.com https://cdn.jsdelivr.net; img-src 'self' data: https:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
const ALLOWED_HEADERS =
  'Authorization, Content-Type, X-Request-Id, traceparent, tracestate, Cache-Control, X-Request-Timeout-Ms, ' +
  'Inference-Header-Content-Length, If-None-Match';
const EXPOSED_HEADERS =
  'X-Request-Id, X-Cache, ETag, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, ' +
  'X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Inference-Header-Content-Length';

function allowedOrigin(origin: string | undefined, allowList: string[]): string | null {
  if (!origin || allowList.length === 0) return null;
  if (allowList.includes('*')) return '*';
  return allowList.includes(origin) ? origin : null;
}

/**
 * HSTS, nosniff, frame deny, referrer policy on every response; a CSP on HTML (strict, or `DOCS_CSP` for
 * `/docs`); CORS for allow-listed origins, answering preflights itself with 204 (never reaching auth).
 *
 * @example
 * app.use('*', securityHeaders({ hstsMaxAgeSeconds: 31536000, corsOrigins: ['https://app.example.com'] }));
 */
export function securityHeaders(options: SecurityHeadersOptions): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    const origin = allowedOrigin(c.req.header('origin'), options.corsOrigins);
    const preflight =
      c.req.method === 'OPTIONS' && c.req.header('access-control-request-method') !== undefined;
    if (preflight) {
      c.res = new Response(null, { status: 204 });
      if (origin) {
        c.res.headers.set('access-control-allow-methods', ALLOWED_METHODS);
        c.res.headers.set('access-control-allow-headers', ALLOWED_HEADERS);
        c.res.headers.set('access-control-max-age', '600');
      }
    } else {
      await next();
    }
    const h = responseHeaders(c);
    if (options.hstsMaxAgeSeconds > 0) {
      h.set('strict-transport-security', `max-age=${options.hstsMaxAgeSeconds}; includeSubDomains`);
    }
    h.set('x-content-type-options', 'nosniff');
    h.set('x-frame-options', 'DENY');
    h.set('referrer-policy', 'no-referrer');
    if ((h.get('content-type') ?? '').startsWith('text/html')) {
      h.set('content-security-policy', c.req.path === '/docs' ? DOCS_CSP : STRICT_CSP);
    }
    if (origin) {
      h.set('access-control-allow-origin', origin);
      h.set('access-control-expose-headers', EXPOSED_HEADERS);
      if (origin !== '*') h.append('vary', 'Origin');
    }
  };
}

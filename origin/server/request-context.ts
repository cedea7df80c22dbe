import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from '../observability/logger.ts';
import type { SpanHandle, Tracing } from '../observability/tracing.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export type RequestContextVariables = {
  requestId: string;
  span: SpanHandle;
  log: Logger;
};

/**
 * Request id (the edge's `X-Request-Id` when well-formed, else a new one) and the W3C trace continued from
 * `traceparent`; both go on the response and on every log line of the request.
 */
export function requestContext(deps: {
  logger: Logger;
  tracing: Tracing;
}): MiddlewareHandler<{ Variables: RequestContextVariables }> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    // Named by its method until the route is known: in middleware `routePath` is the middleware's own `/*`.
    const span = deps.tracing.startSpan(c.req.method, {
      traceparent: c.req.header('traceparent'),
      tracestate: c.req.header('tracestate'),
      kind: 'server',
      attributes: { 'http.request.method': c.req.method, 'url.path': c.req.path },
    });
    c.set('requestId', requestId);
    c.set('span', span);
    c.set('log', deps.logger.child({ requestId, traceId: span.traceId }));
    c.header('x-request-id', requestId);
    c.header('traceparent', span.traceparent);
    try {
      await next();
    } finally {
      if (span.recording) {
        // After the chain ran, the last matched route is the handler's (a catch-all only when none matched).
        const route = routePath(c, -1);
        if (!route.includes('*')) {
          span.updateName(`${c.req.method} ${route}`);
          span.setAttribute('http.route', route);
        }
        span.setAttribute('http.response.status_code', c.res.status);
      }
      span.end();
    }
  };
}

import type { MiddlewareHandler } from 'hono';
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
    const span = deps.tracing.startSpan(`${c.req.method} ${c.req.routePath || c.req.path}`, {
      traceparent: c.req.header('traceparent'),
      tracestate: c.req.header('tracestate'),
      kind: 'server',
    });
    c.set('requestId', requestId);
    c.set('span', span);
    c.set('log', deps.logger.child({ requestId, traceId: span.traceId }));
    c.header('x-request-id', requestId);
    c.header('traceparent', span.traceparent);
    try {
      await next();
    } finally {
      span.setAttribute('http.status_code', c.res.status);
      span.end();
    }
  };
}

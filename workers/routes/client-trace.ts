import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import type { ClientTrace } from '../routing/origin-request.ts';

/** The request's id and trace context, as the routes that forward pass them to the origin. */
export function clientTrace(c: Context<AppEnv>): ClientTrace {
  return {
    requestId: c.get('requestId'),
    traceparent: c.get('traceparent'),
    tracestate: c.req.header('tracestate'),
  };
}

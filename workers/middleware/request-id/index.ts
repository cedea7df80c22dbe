import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { toHex } from '../../../shared/signing/canonical.ts';
import type { EdgeLogger } from '../../observability/logger.ts';
import type { EdgeTracing, RequestTrace } from '../../observability/tracing.ts';
import type { EdgeContextVariables } from '../edge-context/index.ts';
import { responseHeaders } from '../response-headers.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

// One getRandomValues call per 4 KiB instead of two per request: on Node each call is a synchronous
// randomFill with a fixed cost that showed up in the hit path's profile. Filled lazily (workerd forbids
// random values in the global scope).
const POOL_BYTES = 4096;
let pool: Uint8Array | null = null;
let poolOffset = POOL_BYTES;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL_BYTES) {
    pool ??= new Uint8Array(POOL_BYTES);
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const out = toHex(pool!.subarray(poolOffset, poolOffset + bytes));
  poolOffset += bytes;
  return out;
}

export interface TraceContext {
  traceId: string;
  /** The edge's own span id, the parent of the origin's span. */
  spanId: string;
  /** `00-<traceId>-<spanId>-<flags>`: what the edge forwards to the origin. */
  traceparent: string;
}

/**
 * Continues a W3C `traceparent` (version 00, non-zero ids) with a new span id for the edge, or starts a sampled
 * trace. Anything malformed starts a new one rather than failing the request.
 */
export function continueTrace(header: string | undefined): TraceContext {
  const match = header ? TRACEPARENT.exec(header.trim().toLowerCase()) : null;
  const spanId = randomHex(8);
  if (match && match[1] !== 'ff' && !/^0+$/.test(match[2]!) && !/^0+$/.test(match[3]!)) {
    const traceId = match[2]!;
    return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-${match[4]}` };
  }
  const traceId = randomHex(16);
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** The caller's `X-Request-Id` when it is 8–128 characters of `[A-Za-z0-9._:-]`, else a new UUID. */
export function acceptRequestId(header: string | undefined): string {
  return header && REQUEST_ID.test(header) ? header : crypto.randomUUID();
}

export interface RequestIdVariables {
  requestId: string;
  /** W3C trace context forwarded to the origin (continued from the caller, or started here). */
  traceparent: string;
  traceId: string;
  /** The isolate's logger with this request's id and trace id on every line. */
  logger: EdgeLogger;
  /** This request's spans when tracing is on (`OTEL_EXPORTER_OTLP_ENDPOINT`), else null. */
  trace: RequestTrace | null;
}

/** The route the request matched, for the span's name; null when none did (only catch-all middleware). */
function matchedRoute(c: Parameters<MiddlewareHandler>[0]): string | null {
  const route = routePath(c, -1);
  return route.includes('*') ? null : route;
}

/**
 * Assigns `requestId`, `traceparent`, `traceId` and a request-scoped child of `logger`; echoes `X-Request-Id`
 * and the edge's `traceparent` on every response, errors included. With `tracing`, the edge's span is a real
 * one (`trace`): ended when the answer is ready, and the request's spans exported in the background.
 *
 * @example
 * app.use('*', requestId({ logger, tracing: null }));
 */
export function requestId(options: {
  logger: EdgeLogger;
  tracing: EdgeTracing | null;
}): MiddlewareHandler<{ Variables: RequestIdVariables & Pick<EdgeContextVariables, 'platform'> }> {
  const { tracing } = options;
  return async function requestIdMiddleware(c, next) {
    const id = acceptRequestId(c.req.header('x-request-id'));
    const spans = tracing
      ? tracing.startRequest({
          method: c.req.method,
          path: c.req.path,
          traceparent: c.req.header('traceparent'),
          tracestate: c.req.header('tracestate'),
        })
      : null;
    const trace = spans ?? continueTrace(c.req.header('traceparent'));
    c.set('requestId', id);
    c.set('traceparent', trace.traceparent);
    c.set('traceId', trace.traceId);
    c.set('trace', spans);
    c.set('logger', options.logger.child({ requestId: id, traceId: trace.traceId }));
    await next();
    const headers = responseHeaders(c);
    headers.set('x-request-id', id);
    headers.set('traceparent', trace.traceparent);
    if (spans) {
      spans.finish(matchedRoute(c), c.res.status);
      c.get('platform').waitUntil(spans.export());
    }
  };
}

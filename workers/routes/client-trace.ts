import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import type { RequestTrace } from '../observability/tracing.ts';
import type { AttemptTracer } from '../routing/forward.ts';
import type { ClientTrace } from '../routing/origin-request.ts';

/**
 * `origin attempt` spans (client kind) in the request's trace: which origin, which attempt, and how it
 * ended (`response` with the status, or why there was none: transport, timeout, deadline, oversized,
 * breaker-open).
 */
function attemptSpans(trace: RequestTrace): AttemptTracer {
  return {
    start(originId, attempt) {
      const span = trace.startSpan('origin attempt', {
        kind: 'client',
        attributes: { 'aiserve.origin.id': originId, 'aiserve.attempt': attempt },
      });
      return {
        traceparent: span.traceparent,
        end(outcome) {
          span.setAttribute('aiserve.attempt.outcome', outcome.kind);
          if (outcome.kind === 'response') {
            span.setAttribute('http.response.status_code', outcome.status);
            if (outcome.status >= 500) span.fail(outcome.code ?? `HTTP ${outcome.status}`);
          } else {
            span.fail(outcome.kind);
          }
          span.end();
        },
      };
    },
  };
}

/** The request's id and trace context, as the routes that forward pass them to the origin. */
export function clientTrace(c: Context<AppEnv>): ClientTrace {
  const trace = c.get('trace');
  return {
    requestId: c.get('requestId'),
    traceparent: c.get('traceparent'),
    tracestate: c.req.header('tracestate'),
    attempts: trace ? attemptSpans(trace) : undefined,
  };
}

import { Deadline, type DeadlineSettings, resolveDeadlineMs } from './deadline.ts';
import type { AttemptTracer, OriginClient, OriginRequest } from './forward.ts';
import { answerFrom, type OriginAnswer } from './origin-answer.ts';

/** What the origin learns about the client's request: its id and trace context. */
export interface ClientTrace {
  requestId: string;
  /** The edge's span, continuing the caller's trace (or starting one). */
  traceparent: string;
  /** The caller's `tracestate`, passed on unchanged. */
  tracestate: string | undefined;
  /** A span per origin attempt when tracing is on; each attempt then forwards its own span. */
  attempts: AttemptTracer | undefined;
}

/** The forwarded request's headers: the trace context, and the body's type when there is a body. */
export function forwardedHeaders(trace: ClientTrace, contentType?: string): OriginRequest['headers'] {
  const headers: OriginRequest['headers'] = {
    traceparent: trace.traceparent,
    'x-request-id': trace.requestId,
  };
  if (trace.tracestate) headers.tracestate = trace.tracestate;
  if (contentType) headers['content-type'] = contentType;
  return headers;
}

/** `/v2/models/<model>[/versions/<version>]<suffix>` with both names percent-encoded. */
export function originPath(model: string, version: string | null, suffix: string): string {
  const base = `/v2/models/${encodeURIComponent(model)}`;
  return (version === null ? base : `${base}/versions/${encodeURIComponent(version)}`) + suffix;
}

export interface ModelGet {
  model: string;
  version: string | null;
  /** `''` for the metadata, `/ready` for readiness. */
  suffix: '' | '/ready';
  trace: ClientTrace;
  /** The client's `X-Request-Timeout-Ms`, if any. */
  timeoutHeader: string | undefined;
  /** Aborts when the client goes away: the origin is not asked again for nobody. */
  signal: AbortSignal;
}

/** A GET to an origin that serves the model (metadata, readiness), within the request's deadline. */
export async function getFromOrigin(
  router: { origins: OriginClient; deadlines: DeadlineSettings },
  get: ModelGet,
  now: () => number,
): Promise<OriginAnswer> {
  const deadline = new Deadline(resolveDeadlineMs(router.deadlines, get.timeoutHeader, undefined));
  const response = await router.origins.send({
    method: 'GET',
    path: originPath(get.model, get.version, get.suffix),
    body: null,
    headers: forwardedHeaders(get.trace),
    model: get.model,
    version: get.version,
    deadline,
    signal: get.signal,
    ...(get.trace.attempts ? { attempts: get.trace.attempts } : {}),
  });
  return answerFrom(response, now());
}

/**
 * The edge's spans, with OpenTelemetry (the SDK's tracer, the OTLP/HTTP JSON exporter, W3C propagation). Built
 * only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: otherwise the request-id middleware continues `traceparent`
 * itself and nothing here is loaded or allocated.
 *
 * Spans are collected per request and exported in one OTLP request once the request is answered, from the
 * request's own `waitUntil`: a Workers request may not wait on timers or I/O another request started, which
 * rules out the SDK's batch processor (one timer and one buffer for the isolate). The exporter's fetch build
 * runs in workerd; under Node the same package uses its `http` transport.
 */
import {
  type Context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { otlpTracesUrl } from '../../shared/otlp.ts';

type AttributeValue = string | number | boolean;
type Attributes = Record<string, AttributeValue>;

/** One span inside a request (auth, rate limit, cache lookup, an origin attempt). */
interface EdgeSpan {
  /** This span as a `traceparent`: what a call made on its behalf forwards. */
  readonly traceparent: string;
  setAttribute(key: string, value: AttributeValue): void;
  /** Status ERROR with a short description (the span still has to be ended). */
  fail(message: string): void;
  end(): void;
}

/** The spans of one request: its server span and the spans inside it. */
export interface RequestTrace {
  readonly traceId: string;
  /** The request's span as a `traceparent`, echoed to the client. */
  readonly traceparent: string;
  /** A child of the request's span. */
  startSpan(name: string, options?: { kind?: 'internal' | 'client'; attributes?: Attributes }): EdgeSpan;
  /**
   * Names the request's span after its route (`POST /v2/models/:model/infer`; the method alone when no route
   * matched), records the status and ends it. Spans still open end with it: whatever they waited for no
   * longer mattered to the answer.
   */
  finish(route: string | null, status: number): void;
  /** Exports the request's ended spans in one OTLP request; never rejects. */
  export(): Promise<void>;
}

export interface EdgeTracing {
  /** Starts the request's span, continuing `traceparent` (and `tracestate`) when valid. */
  startRequest(request: {
    method: string;
    path: string;
    traceparent: string | undefined;
    tracestate: string | undefined;
  }): RequestTrace;
}

export interface EdgeTracingOptions {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT`; unset (and no `exporter`): no tracing at all (null). */
  endpoint: string | undefined;
  /** `OTEL_EXPORTER_OTLP_HEADERS`. */
  headers?: Record<string, string>;
  serviceVersion: string;
  environment: string;
  /** Replaces the OTLP exporter (tests of the wiring without a receiver). */
  exporter?: SpanExporter;
  /** An export that failed (collector down, refused): reported, never thrown. */
  onExportError(error: unknown): void;
}

const SERVICE_NAME = 'aiserve-edge';
/** One export is one request's few spans: a collector that takes longer than this is not waited for. */
const EXPORT_TIMEOUT_MS = 10_000;

function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

class OtelSpan implements EdgeSpan {
  readonly #span: Span;
  readonly traceparent: string;

  constructor(span: Span) {
    this.#span = span;
    this.traceparent = traceparentOf(span);
  }

  setAttribute(key: string, value: AttributeValue): void {
    this.#span.setAttribute(key, value);
  }

  fail(message: string): void {
    this.#span.setStatus({ code: SpanStatusCode.ERROR, message });
  }

  end(): void {
    this.#span.end();
  }
}

interface TraceDeps {
  tracer: Tracer;
  exporter: SpanExporter;
  extract(carrier: Record<string, string>): Context;
  onExportError(error: unknown): void;
}

class OtelRequestTrace implements RequestTrace {
  readonly #deps: TraceDeps;
  readonly #method: string;
  readonly #root: Span;
  readonly #context: Context;
  /** The recording spans of this request, the request's own first (unsampled traces record none). */
  readonly #spans: Span[] = [];
  readonly traceId: string;
  readonly traceparent: string;

  constructor(deps: TraceDeps, request: Parameters<EdgeTracing['startRequest']>[0]) {
    this.#deps = deps;
    this.#method = request.method;
    const carrier: Record<string, string> = {};
    if (request.traceparent) carrier.traceparent = request.traceparent;
    if (request.tracestate) carrier.tracestate = request.tracestate;
    this.#root = deps.tracer.startSpan(
      request.method,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method, 'url.path': request.path },
      },
      deps.extract(carrier),
    );
    if (this.#root.isRecording()) this.#spans.push(this.#root);
    this.#context = trace.setSpan(ROOT_CONTEXT, this.#root);
    this.traceId = this.#root.spanContext().traceId;
    this.traceparent = traceparentOf(this.#root);
  }

  startSpan(name: string, options: { kind?: 'internal' | 'client'; attributes?: Attributes } = {}): EdgeSpan {
    const span = this.#deps.tracer.startSpan(
      name,
      {
        kind: options.kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL,
        ...(options.attributes ? { attributes: options.attributes } : {}),
      },
      this.#context,
    );
    if (span.isRecording()) this.#spans.push(span);
    return new OtelSpan(span);
  }

  finish(route: string | null, status: number): void {
    const root = this.#root;
    root.updateName(route ? `${this.#method} ${route}` : this.#method);
    if (route) root.setAttribute('http.route', route);
    root.setAttribute('http.response.status_code', status);
    if (status >= 500) root.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` });
    for (const span of this.#spans) if (span !== root && span.isRecording()) span.end();
    root.end();
  }

  export(): Promise<void> {
    const ended = this.#spans.filter((span) => !span.isRecording()) as unknown as ReadableSpan[];
    if (ended.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      try {
        this.#deps.exporter.export(ended, (result) => {
          if (result.error || result.code !== 0) this.#deps.onExportError(result.error ?? 'export failed');
          resolve();
        });
      } catch (err) {
        this.#deps.onExportError(err);
        resolve();
      }
    });
  }
}

/**
 * The edge's tracer when an endpoint (or exporter) is configured, else null. The SDK and exporter are imported
 * here, on first use, so an edge without tracing never loads them.
 */
export async function createEdgeTracing(options: EdgeTracingOptions): Promise<EdgeTracing | null> {
  if (!options.endpoint && !options.exporter) return null;
  const [core, resources, sdk] = await Promise.all([
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
  ]);
  const exporter =
    options.exporter ??
    new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({
      url: otlpTracesUrl(options.endpoint!),
      headers: options.headers ?? {},
      timeoutMillis: EXPORT_TIMEOUT_MS,
    });
  // No span processor: each request hands its own spans to the exporter (see the module comment).
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': SERVICE_NAME,
      'service.version': options.serviceVersion,
      'deployment.environment.name': options.environment,
    }),
  });
  const tracer = provider.getTracer(SERVICE_NAME, options.serviceVersion);
  const propagator = new core.W3CTraceContextPropagator();
  const deps: TraceDeps = {
    tracer,
    exporter,
    extract: (carrier) => propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter),
    onExportError: options.onExportError,
  };
  return { startRequest: (request) => new OtelRequestTrace(deps, request) };
}

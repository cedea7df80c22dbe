/**
 * W3C Trace Context (`traceparent`) handling, always on and dependency-free, plus optional OpenTelemetry
 * export: the SDK is loaded only when an OTLP endpoint is configured, otherwise spans are a cheap no-op that
 * still continue the caller's trace id (for logs and downstream headers).
 */
import type { Span as OtelSpan } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { otlpTracesUrl } from '../../shared/otlp.ts';

export interface TraceContext {
  traceId: string;
  parentId: string;
  /** Trace flags byte; bit 0 = sampled. */
  flags: number;
}

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** Parses a `traceparent` header; null when absent or invalid (then start a new trace). */
export function parseTraceparent(header: string | null | undefined): TraceContext | null {
  if (!header) return null;
  const match = TRACEPARENT_RE.exec(header.trim());
  if (!match) return null;
  const [, version, traceId, parentId, flags, rest] = match;
  if (version === 'ff') return null;
  // Version 00 has exactly four fields; later versions may append more after a dash.
  if (version === '00' && rest !== undefined) return null;
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_SPAN_ID) return null;
  return { traceId: traceId!, parentId: parentId!, flags: Number.parseInt(flags!, 16) };
}

function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${(flags & 0xff).toString(16).padStart(2, '0')}`;
}

function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  let out = '';
  for (const b of buf) out += b.toString(16).padStart(2, '0');
  return /^0+$/.test(out) ? randomHex(bytes) : out;
}

const newTraceId = (): string => randomHex(16);
const newSpanId = (): string => randomHex(8);

/** A new span id in the same trace, keeping the caller's flags. */
export function childTraceparent(ctx: TraceContext): string {
  return formatTraceparent(ctx.traceId, newSpanId(), ctx.flags);
}

export function newTraceparent(sampled = true): string {
  return formatTraceparent(newTraceId(), newSpanId(), sampled ? 1 : 0);
}

type AttributeValue = string | number | boolean;

export interface SpanHandle {
  readonly traceId: string;
  readonly spanId: string;
  /** This span as a `traceparent`, for logs and for calls made on its behalf. */
  readonly traceparent: string;
  /** False for the no-op spans (no endpoint, or an unsampled trace): children are not worth making. */
  readonly recording: boolean;
  setAttribute(key: string, value: AttributeValue): void;
  /** A server span is named once its route is known (`POST /v2/models/:model/infer`). */
  updateName(name: string): void;
  recordError(err: unknown): void;
  /** A span inside this one (internal kind), e.g. a request's queue wait and compute. */
  child(name: string, attributes?: Record<string, AttributeValue>): SpanHandle;
  end(): void;
}

interface StartSpanOptions {
  /** The incoming `traceparent`; invalid or absent starts a new trace. */
  traceparent?: string | null;
  tracestate?: string | null;
  attributes?: Record<string, AttributeValue>;
  kind?: 'server' | 'internal' | 'client';
}

export interface Tracing {
  readonly enabled: boolean;
  startSpan(name: string, options?: StartSpanOptions): SpanHandle;
  /** Exports the spans ended so far. */
  flush(): Promise<void>;
  /** Flushes and stops exporting; call on shutdown. */
  shutdown(): Promise<void>;
}

const noop = () => {};

/** A no-op span: its children are itself (nothing is recorded either way). */
function noopSpan(traceId: string, spanId: string, traceparent: string): SpanHandle {
  const span: SpanHandle = {
    traceId,
    spanId,
    traceparent,
    recording: false,
    setAttribute: noop,
    updateName: noop,
    recordError: noop,
    child: () => span,
    end: noop,
  };
  return span;
}

export const noopTracing: Tracing = {
  enabled: false,
  startSpan(_name, options = {}) {
    const parent = parseTraceparent(options.traceparent);
    const traceId = parent?.traceId ?? newTraceId();
    const spanId = newSpanId();
    return noopSpan(traceId, spanId, formatTraceparent(traceId, spanId, parent?.flags ?? 1));
  },
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

export interface InitTracingOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT (base URL; `/v1/traces` is appended). Unset → no-op tracing. */
  endpoint?: string | undefined;
  serviceName: string;
  serviceVersion?: string;
  /** For tests: export here instead of OTLP HTTP. */
  exporter?: SpanExporter;
}

/** OpenTelemetry tracer with OTLP HTTP export and W3C propagation when an endpoint (or exporter) is given. */
export async function initTracing(options: InitTracingOptions): Promise<Tracing> {
  if (!options.endpoint && !options.exporter) return noopTracing;
  const [api, core, resources, sdk] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
  ]);
  const exporter =
    options.exporter ??
    new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({
      url: otlpTracesUrl(options.endpoint!),
    });
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': options.serviceName,
      ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}),
    }),
    spanProcessors: [new sdk.BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer(options.serviceName, options.serviceVersion);
  const propagator = new core.W3CTraceContextPropagator();
  const kinds = { server: api.SpanKind.SERVER, internal: api.SpanKind.INTERNAL, client: api.SpanKind.CLIENT };

  const handle = (span: OtelSpan): SpanHandle => {
    const sc = span.spanContext();
    return {
      traceId: sc.traceId,
      spanId: sc.spanId,
      traceparent: formatTraceparent(sc.traceId, sc.spanId, sc.traceFlags),
      recording: span.isRecording(),
      setAttribute: (key, value) => void span.setAttribute(key, value),
      updateName: (name) => void span.updateName(name),
      recordError(err) {
        if (err instanceof Error) span.recordException(err);
        span.setStatus({
          code: api.SpanStatusCode.ERROR,
          message: err instanceof Error ? err.message : String(err),
        });
      },
      child: (name, attributes) =>
        handle(
          tracer.startSpan(
            name,
            { kind: api.SpanKind.INTERNAL, ...(attributes ? { attributes } : {}) },
            api.trace.setSpan(api.ROOT_CONTEXT, span),
          ),
        ),
      end: () => span.end(),
    };
  };

  return {
    enabled: true,
    startSpan(name, opts = {}) {
      const carrier: Record<string, string> = {};
      if (opts.traceparent) carrier['traceparent'] = opts.traceparent;
      if (opts.tracestate) carrier['tracestate'] = opts.tracestate;
      const parent = propagator.extract(api.ROOT_CONTEXT, carrier, api.defaultTextMapGetter);
      return handle(
        tracer.startSpan(
          name,
          { kind: kinds[opts.kind ?? 'server'], ...(opts.attributes ? { attributes: opts.attributes } : {}) },
          parent,
        ),
      );
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import {
  childTraceparent,
  initTracing,
  newTraceparent,
  noopTracing,
  parseTraceparent,
} from '../../../origin/observability/tracing.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${PARENT}-01`;

describe('parseTraceparent', () => {
  it('parses a valid header', () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE, parentId: PARENT, flags: 1 });
    expect(parseTraceparent(` ${VALID} `)).toEqual({ traceId: TRACE, parentId: PARENT, flags: 1 });
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-00`)?.flags).toBe(0);
  });

  it('accepts a future version with extra fields', () => {
    expect(parseTraceparent(`cc-${TRACE}-${PARENT}-01-what-the-future-holds`)?.traceId).toBe(TRACE);
    expect(parseTraceparent(`cc-${TRACE}-${PARENT}-01`)?.traceId).toBe(TRACE);
  });

  it.each([
    ['absent', undefined],
    ['null', null],
    ['empty', ''],
    ['version ff', `ff-${TRACE}-${PARENT}-01`],
    ['version 00 with extra fields', `${VALID}-extra`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['short trace id', `00-${TRACE.slice(1)}-${PARENT}-01`],
    ['long parent id', `00-${TRACE}-${PARENT}0-01`],
    ['uppercase hex', `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ['bad flags', `00-${TRACE}-${PARENT}-1`],
    ['non-hex', `00-${TRACE.replace('a', 'g')}-${PARENT}-01`],
    ['future version glued', `cc-${TRACE}-${PARENT}-01x`],
  ])('rejects %s', (_label, header) => {
    expect(parseTraceparent(header)).toBeNull();
  });
});

describe('traceparent generation', () => {
  it('continues a trace with a new span id', () => {
    const ctx = parseTraceparent(VALID)!;
    const child = parseTraceparent(childTraceparent(ctx))!;
    expect(child.traceId).toBe(TRACE);
    expect(child.parentId).not.toBe(PARENT);
    expect(child.flags).toBe(1);
  });

  it('starts new valid traces', () => {
    const a = parseTraceparent(newTraceparent())!;
    const b = parseTraceparent(newTraceparent(false))!;
    expect(a.flags).toBe(1);
    expect(b.flags).toBe(0);
    expect(a.traceId).not.toBe(b.traceId);
  });
});

describe('tracing', () => {
  it('is a no-op without an endpoint that still continues the trace', async () => {
    const tracing = await initTracing({ endpoint: undefined, serviceName: 'aiserve-origin' });
    expect(tracing).toBe(noopTracing);
    const span = tracing.startSpan('infer', { traceparent: VALID });
    expect(span.traceId).toBe(TRACE);
    expect(parseTraceparent(span.traceparent)?.traceId).toBe(TRACE);
    span.setAttribute('model', 'm');
    span.end();
    expect(parseTraceparent(tracing.startSpan('infer').traceparent)).not.toBeNull();
    await tracing.shutdown();
  });

  it('exports spans with the caller as parent when OpenTelemetry is on', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = await initTracing({ serviceName: 'aiserve-origin', exporter });
    expect(tracing.enabled).toBe(true);
    const span = tracing.startSpan('infer', { traceparent: VALID, attributes: { model: 'm' } });
    expect(span.traceId).toBe(TRACE);
    span.recordError(new Error('boom'));
    span.end();
    const fresh = tracing.startSpan('other');
    fresh.end();
    await tracing.flush();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(2);
    const [infer, other] = spans;
    expect(infer?.name).toBe('infer');
    expect(infer?.spanContext().traceId).toBe(TRACE);
    expect(infer?.parentSpanContext?.spanId).toBe(PARENT);
    expect(infer?.attributes['model']).toBe('m');
    expect(infer?.status.code).toBe(2); // ERROR
    expect(infer?.events[0]?.name).toBe('exception');
    expect(infer?.resource.attributes['service.name']).toBe('aiserve-origin');
    expect(other?.spanContext().traceId).not.toBe(TRACE);
    expect(other?.parentSpanContext).toBeUndefined();
    expect(span.traceparent).toBe(`00-${TRACE}-${infer?.spanContext().spanId}-01`);
    await tracing.shutdown();
  });

  it('renames a span and makes children of it, recording ones only when the parent records', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = await initTracing({ serviceName: 'aiserve-origin', exporter });
    const span = tracing.startSpan('POST', { traceparent: VALID });
    expect(span.recording).toBe(true);
    span.updateName('POST /v2/models/:model/infer');
    const child = span.child('queue wait', { 'aiserve.model': 'm' });
    child.end();
    span.end();
    await tracing.flush();
    const [queued, request] = exporter.getFinishedSpans();
    expect(request?.name).toBe('POST /v2/models/:model/infer');
    expect(queued?.name).toBe('queue wait');
    expect(queued?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(queued?.spanContext().traceId).toBe(TRACE);
    expect(queued?.attributes['aiserve.model']).toBe('m');
    // An unsampled caller: nothing records, children included.
    const unsampled = tracing.startSpan('POST', { traceparent: `00-${TRACE}-${PARENT}-00` });
    expect(unsampled.recording).toBe(false);
    expect(unsampled.child('compute').recording).toBe(false);
    await tracing.shutdown();
    const noop = noopTracing.startSpan('POST');
    expect(noop.recording).toBe(false);
    expect(noop.child('compute').traceparent).toBe(noop.traceparent);
  });
});

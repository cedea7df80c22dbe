import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../../support/otlp-receiver.ts';
import { inferJson, routedEdge } from '../routes/routed-edge.ts';
import { deadUrl, type FakeOrigin, startFakeOrigin } from '../routing/fake-origins.ts';

/**
 * The edge's spans, as a collector receives them: the real app under Node (createApp, its middleware, the
 * origin router), fake origins over HTTP, and a real OTLP/HTTP endpoint on 127.0.0.1 decoding the exports.
 */

let receiver: OtlpReceiver;
const origins: FakeOrigin[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await receiver.close();
});
afterEach(async () => {
  await Promise.all(origins.splice(0).map((o) => o.close()));
});

async function fake(id: string): Promise<FakeOrigin> {
  const o = await startFakeOrigin(id);
  origins.push(o);
  return o;
}

const hex = (bytes: number) =>
  crypto.getRandomValues(new Uint8Array(bytes)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '');

function inTrace(traceId: string) {
  return (spans: ReceivedSpan[]) => spans.filter((s) => s.traceId === traceId);
}

function one(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found, `spans named "${name}" in [${spans.map((s) => s.name).join(', ')}]`).toHaveLength(1);
  return found[0]!;
}

describe('edge spans over OTLP/HTTP', () => {
  it('exports one trace per request: the caller’s span is its parent, auth, rate limit, cache lookup and the origin attempt its children, and the origin is sent the attempt’s span', async () => {
    const a = await fake('a');
    const edge = await routedEdge({
      origins: [`a=${a.url}`],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
    });
    const traceId = hex(16);
    const caller = hex(8);
    const res = await edge.call('/v2/models/m/infer', {
      body: inferJson([1, 2]),
      headers: { traceparent: `00-${traceId}-${caller}-01` },
    });
    expect(res.status).toBe(200);
    await res.text();
    await edge.settle();
    const spans = inTrace(traceId)(await receiver.waitFor((all) => inTrace(traceId)(all).length >= 5));
    expect(spans.every((s) => s.service === 'aiserve-edge')).toBe(true);

    const request = one(spans, 'POST /v2/models/:model/infer');
    expect(request.parentSpanId).toBe(caller);
    expect(request.kind).toBe(2); // server
    expect(request.attributes).toMatchObject({
      'http.route': '/v2/models/:model/infer',
      'http.response.status_code': 200,
    });
    for (const name of ['auth', 'rate limit', 'cache lookup', 'origin attempt']) {
      expect(one(spans, name).parentSpanId, name).toBe(request.spanId);
    }
    expect(one(spans, 'cache lookup').attributes['aiserve.cache.result']).toBe('MISS');
    expect(one(spans, 'rate limit').attributes['aiserve.rate_limit.allowed']).toBe(true);
    const attempt = one(spans, 'origin attempt');
    expect(attempt.kind).toBe(3); // client
    expect(attempt.attributes).toMatchObject({
      'aiserve.origin.id': 'a',
      'aiserve.attempt': 1,
      'aiserve.attempt.outcome': 'response',
      'http.response.status_code': 200,
    });
    expect(attempt.startNanos >= request.startNanos && attempt.endNanos <= request.endNanos).toBe(true);
    // The origin's span will be the attempt's child; the client is told the edge's request span.
    expect(a.seen[0]!.headers.traceparent).toBe(`00-${traceId}-${attempt.spanId}-01`);
    expect(res.headers.get('traceparent')).toBe(`00-${traceId}-${request.spanId}-01`);
  });

  it('gives each origin attempt its own span, with its origin, outcome and status, and forwards that span', async () => {
    const a = await fake('a');
    a.behave({ kind: 'status', status: 503, body: JSON.stringify({ error: 'busy', code: 'QUEUE_FULL' }) });
    const b = await fake('b');
    const edge = await routedEdge({
      origins: [`a=${a.url}`, `b=${b.url}`],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, RETRY_BASE_DELAY_MS: '1' },
      // P2C with equal loads takes the first candidate: `a` first, then `b`.
      random: () => 0,
    });
    const traceId = hex(16);
    const res = await edge.call('/v2/models/m/infer', {
      body: inferJson([3]),
      headers: { traceparent: `00-${traceId}-${hex(8)}-01` },
    });
    expect(res.status).toBe(200);
    await res.text();
    await edge.settle();
    const spans = inTrace(traceId)(
      await receiver.waitFor((all) => inTrace(traceId)(all).some((s) => s.name.startsWith('POST'))),
    );
    const request = one(spans, 'POST /v2/models/:model/infer');
    const attempts = spans
      .filter((s) => s.name === 'origin attempt')
      .sort((x, y) => Number(x.attributes['aiserve.attempt']) - Number(y.attributes['aiserve.attempt']));
    expect(attempts.map((s) => s.attributes)).toEqual([
      expect.objectContaining({
        'aiserve.origin.id': 'a',
        'aiserve.attempt': 1,
        'aiserve.attempt.outcome': 'response',
        'http.response.status_code': 503,
      }),
      expect.objectContaining({
        'aiserve.origin.id': 'b',
        'aiserve.attempt': 2,
        'aiserve.attempt.outcome': 'response',
        'http.response.status_code': 200,
      }),
    ]);
    expect(attempts.map((s) => s.status)).toEqual([2, 0]); // the 503 is an error
    expect(attempts.every((s) => s.parentSpanId === request.spanId)).toBe(true);
    expect(a.seen[0]!.headers.traceparent).toBe(`00-${traceId}-${attempts[0]!.spanId}-01`);
    expect(b.seen[0]!.headers.traceparent).toBe(`00-${traceId}-${attempts[1]!.spanId}-01`);
  });

  it('records an attempt that reached no origin with why (transport), and names a refused request by its route', async () => {
    const b = await fake('b');
    const edge = await routedEdge({
      origins: [`a=${await deadUrl()}`, `b=${b.url}`],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, RETRY_BASE_DELAY_MS: '1' },
      random: () => 0,
    });
    const traceId = hex(16);
    await (
      await edge.call('/v2/models/m/infer', {
        body: inferJson([4]),
        headers: { traceparent: `00-${traceId}-${hex(8)}-01` },
      })
    ).text();
    const refusedTrace = hex(16);
    const refused = await edge.call('/v2/models/m/infer', {
      body: inferJson([4]),
      headers: { traceparent: `00-${refusedTrace}-${hex(8)}-01`, authorization: 'Bearer nope' },
    });
    expect(refused.status).toBe(401);
    await edge.settle();
    const spans = inTrace(traceId)(
      await receiver.waitFor(
        (all) => inTrace(traceId)(all).filter((s) => s.name === 'origin attempt').length === 2,
      ),
    );
    const failed = spans.find((s) => s.attributes['aiserve.attempt'] === 1)!;
    expect(failed.attributes).toMatchObject({
      'aiserve.origin.id': 'a',
      'aiserve.attempt.outcome': 'transport',
    });
    expect(failed.attributes['http.response.status_code']).toBeUndefined();
    expect(failed.status).toBe(2);

    const refusedSpans = inTrace(refusedTrace)(
      await receiver.waitFor((all) => inTrace(refusedTrace)(all).length >= 2),
    );
    const request = one(refusedSpans, 'POST /v2/models/:model/infer');
    expect(request.attributes['http.response.status_code']).toBe(401);
    expect(one(refusedSpans, 'auth').status).toBe(2);
    expect(refusedSpans.map((s) => s.name)).not.toContain('origin attempt');
  });

  it('records nothing for a caller that did not sample its trace, and still forwards its trace id', async () => {
    const a = await fake('a');
    const edge = await routedEdge({
      origins: [`a=${a.url}`],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
    });
    const traceId = hex(16);
    const res = await edge.call('/v2/models/m/infer', {
      body: inferJson([5]),
      headers: { traceparent: `00-${traceId}-${hex(8)}-00` },
    });
    expect(res.status).toBe(200);
    await res.text();
    await edge.settle();
    // A sampled request after it, exported after it: once that one is in, the unsampled one would be too.
    const marker = hex(16);
    await (
      await edge.call('/v2/models/m/infer', {
        body: inferJson([6]),
        headers: { traceparent: `00-${marker}-${hex(8)}-01` },
      })
    ).text();
    await edge.settle();
    await receiver.waitFor((all) => inTrace(marker)(all).length >= 5);
    expect(inTrace(traceId)(receiver.spans)).toEqual([]);
    expect(a.seen[0]!.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
  });

  it('without OTEL_EXPORTER_OTLP_ENDPOINT builds no tracer and continues traceparent as before', async () => {
    const a = await fake('a');
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    const traceId = hex(16);
    const caller = hex(8);
    const res = await edge.call('/v2/models/m/infer', {
      body: inferJson([7]),
      headers: { traceparent: `00-${traceId}-${caller}-01` },
    });
    expect(res.status).toBe(200);
    const edgeSpan = res.headers.get('traceparent')!;
    expect(edgeSpan).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(edgeSpan).not.toContain(caller);
    // Without spans per attempt the origin's parent is the edge's own span, as the client sees it.
    expect(a.seen[0]!.headers.traceparent).toBe(edgeSpan);
  });

  it('answers as usual when the collector is down', async () => {
    const a = await fake('a');
    const edge = await routedEdge({
      origins: [`a=${a.url}`],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: await deadUrl() },
    });
    const started = Date.now();
    const res = await edge.call('/v2/models/m/infer', { body: inferJson([8]) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ origin: 'a' });
    // The export runs after the answer (in waitUntil), so the answer does not wait for the collector.
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

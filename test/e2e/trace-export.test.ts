import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleClsRequest } from '../../scripts/dev/example-request.ts';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.ts';
import { routedEdge } from '../workers/routes/routed-edge.ts';
import { type Harness, KEY_ID, makeRepository, SECRET, startHarness } from './origin-harness.ts';

/**
 * One trace across both tiers, as a collector receives it: the edge app under Node exporting its spans, the
 * real origin (onnxruntime, the shipped ocr-cls model, signed requests) exporting its own, both to one real
 * OTLP/HTTP endpoint on 127.0.0.1.
 */

let receiver: OtlpReceiver;
let origin: Harness;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  origin = await startHarness({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }, await makeRepository());
}, 120_000);

afterAll(async () => {
  await origin?.close();
  await receiver?.close();
});

const hex = (bytes: number) =>
  [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');

function named(spans: ReceivedSpan[], service: string, name: string): ReceivedSpan {
  const found = spans.filter((s) => s.service === service && s.name === name);
  expect(
    found,
    `${service} "${name}" in [${spans.map((s) => `${s.service}:${s.name}`).join(', ')}]`,
  ).toHaveLength(1);
  return found[0]!;
}

describe('one trace from the edge through the origin', () => {
  it('links the origin’s request span to the edge’s attempt, with the queue wait and the compute inside it', async () => {
    const edge = await routedEdge({
      origins: [`gpu-1=${origin.url}`],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, ORIGIN_SIGNING_KEY: `${KEY_ID}:${SECRET}` },
    });
    const traceId = hex(16);
    const caller = hex(8);
    const res = await edge.call('/v2/models/ocr-cls/infer', {
      body: JSON.stringify(exampleClsRequest()),
      headers: { traceparent: `00-${traceId}-${caller}-01` },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    await res.arrayBuffer();
    await edge.settle();
    // The origin batches its exports (the SDK's batch processor, every 5 s).
    const all = await receiver.waitFor(
      (spans) => spans.filter((s) => s.traceId === traceId && s.service === 'aiserve-origin').length >= 3,
      15_000,
    );
    const spans = all.filter((s) => s.traceId === traceId);

    const edgeRequest = named(spans, 'aiserve-edge', 'POST /v2/models/:model/infer');
    expect(edgeRequest.parentSpanId).toBe(caller);
    for (const name of ['auth', 'rate limit', 'cache lookup']) {
      expect(named(spans, 'aiserve-edge', name).parentSpanId).toBe(edgeRequest.spanId);
    }
    const attempt = named(spans, 'aiserve-edge', 'origin attempt');
    expect(attempt.parentSpanId).toBe(edgeRequest.spanId);
    expect(attempt.attributes).toMatchObject({
      'aiserve.origin.id': 'gpu-1',
      'http.response.status_code': 200,
    });

    const originRequest = named(spans, 'aiserve-origin', 'POST /v2/models/:model/infer');
    expect(originRequest.parentSpanId).toBe(attempt.spanId);
    expect(originRequest.kind).toBe(2); // server
    expect(originRequest.attributes['http.response.status_code']).toBe(200);
    const queued = named(spans, 'aiserve-origin', 'queue wait');
    const compute = named(spans, 'aiserve-origin', 'compute');
    expect(queued.parentSpanId).toBe(originRequest.spanId);
    expect(compute.parentSpanId).toBe(originRequest.spanId);
    expect(compute.attributes).toMatchObject({
      'aiserve.model': 'ocr-cls',
      'aiserve.model_version': '1',
      'aiserve.batch.requests': 1,
    });
    // In order: the queue wait ends where the compute starts, both inside the origin's request span. Within
    // the SDK's clock resolution: it takes each span's start from Date.now() (whole milliseconds) and adds a
    // monotonic duration, so two spans' readings a few microseconds apart can come out up to 1 ms inverted.
    const clockResolution = 1_000_000n;
    expect(queued.endNanos <= compute.startNanos + clockResolution).toBe(true);
    expect(originRequest.startNanos <= queued.startNanos + clockResolution).toBe(true);
    expect(compute.endNanos <= originRequest.endNanos + clockResolution).toBe(true);
  }, 60_000);
});

import { describe, expect, it } from 'vitest';
import { acceptRequestId, continueTrace } from '../../../workers/middleware/request-id/index.ts';
import { testEdge } from '../edge-fixture.ts';

describe('request id and trace context', () => {
  it('accepts a well-formed X-Request-Id and echoes it', async () => {
    const { app } = await testEdge();
    const res = await app.request('/v2/health/live', { headers: { 'x-request-id': 'client-req-0001' } });
    expect(res.headers.get('x-request-id')).toBe('client-req-0001');
  });

  it('replaces a malformed or oversized X-Request-Id with a generated UUID', () => {
    for (const bad of [
      'short',
      'has spaces in it',
      'x'.repeat(129),
      'evil\r\nheader-injected',
      '<script>1</script>',
    ]) {
      expect(acceptRequestId(bad)).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('puts the request id on error responses and in their JSON body', async () => {
    const { app } = await testEdge();
    const res = await app.request('/no/such/path', { headers: { 'x-request-id': 'trace-me-please' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('trace-me-please');
    expect(await res.json()).toMatchObject({ code: 'NOT_FOUND', requestId: 'trace-me-please' });
  });

  it('continues a valid traceparent with the same trace id and a new span id', () => {
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const trace = continueTrace(incoming);
    expect(trace.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(trace.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(trace.spanId).not.toBe('00f067aa0ba902b7');
  });

  it('starts a new sampled trace for a missing, malformed or all-zero traceparent', () => {
    for (const bad of [
      undefined,
      'garbage',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    ]) {
      const trace = continueTrace(bad);
      expect(trace.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(trace.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    }
  });

  it('returns the edge traceparent on the response so callers can correlate', async () => {
    const { app } = await testEdge();
    const res = await app.request('/v2/health/live', {
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
    expect(res.headers.get('traceparent')).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-/);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors/index.ts';
import type { OriginRecord } from '../../../shared/fleet/origin-record.ts';
import { BreakerRegistry } from '../../../workers/routing/breaker.ts';
import { Deadline } from '../../../workers/routing/deadline.ts';
import { OriginClient, type OriginRequest, parseSigningKey } from '../../../workers/routing/forward.ts';
import { StaticOriginSource } from '../../../workers/routing/origin-source.ts';
import { deadUrl, type FakeOrigin, SIGNING, startFakeOrigin } from './fake-origins.ts';
import { origin } from './fleet-fixtures.ts';

const started: FakeOrigin[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((o) => o.close()));
});

async function fake(id: string, behaviour?: Parameters<typeof startFakeOrigin>[1]): Promise<FakeOrigin> {
  const o = await startFakeOrigin(id, behaviour);
  started.push(o);
  return o;
}

function record(o: { id: string; url: string }, overrides: Partial<OriginRecord> = {}): OriginRecord {
  return origin(o.id, { url: o.url, ...overrides });
}

function client(
  origins: OriginRecord[],
  overrides: Partial<ConstructorParameters<typeof OriginClient>[0]> = {},
) {
  return new OriginClient({
    source: new StaticOriginSource(origins),
    breakers: new BreakerRegistry({ consecutiveFailures: 3, halfOpenAfterMs: 60_000 }),
    signing: SIGNING,
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, minAttemptMs: 20 },
    attemptTimeoutMs: 10_000,
    region: null,
    ...overrides,
  });
}

function request(overrides: Partial<OriginRequest> = {}): OriginRequest {
  return {
    method: 'POST',
    path: '/v2/models/m/infer',
    body: new TextEncoder().encode(JSON.stringify({ id: 'r1', inputs: [] })),
    headers: {
      'content-type': 'application/json',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'x-request-id': 'req-1',
    },
    model: 'm',
    version: null,
    deadline: new Deadline(20_000),
    ...overrides,
  };
}

describe('OriginClient', () => {
  it('signs the request and forwards trace context, request id, content type and the binary header length', async () => {
    const a = await fake('a');
    const res = await client([record(a)]).send(
      request({
        headers: {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': '12',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          'x-request-id': 'req-1',
        },
      }),
    );
    expect(res.status).toBe(200);
    expect(res.originId).toBe('a');
    expect(res.headers.get('x-origin-id')).toBe('a');
    expect(res.headers.get('content-length')).toBeNull();
    const seen = a.seen[0]!;
    expect(seen.signatureOk).toBe(true);
    expect(seen.headers['x-aiserve-key-id']).toBe(SIGNING.keyId);
    expect(seen.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(seen.headers['x-request-id']).toBe('req-1');
    expect(seen.headers['content-type']).toBe('application/octet-stream');
    expect(seen.headers['inference-header-content-length']).toBe('12');
  });

  it('retries a refused connection on another origin', async () => {
    const b = await fake('b');
    const res = await client([origin('dead', { url: await deadUrl() }), record(b)], {
      random: () => 0, // pick `dead` first
    }).send(request());
    expect(res.status).toBe(200);
    expect(res.originId).toBe('b');
    expect(res.attempts).toBe(2);
  });

  it.each([502, 503, 504, 429])('retries an origin %i on another origin', async (status) => {
    const a = await fake('a', { kind: 'status', status });
    const b = await fake('b');
    const res = await client([record(a), record(b)], { random: () => 0 }).send(request());
    expect(res.status).toBe(200);
    expect(a.seen.length).toBe(1);
    expect(b.seen.length).toBe(1);
  });

  it('passes an origin 4xx through unchanged, without retrying or counting it against the breaker', async () => {
    const body = JSON.stringify({ error: 'input x: wrong shape', code: 'INVALID_INPUT', requestId: 'req-1' });
    const a = await fake('a', { kind: 'status', status: 400, body });
    const b = await fake('b');
    const breakers = new BreakerRegistry({ consecutiveFailures: 1, halfOpenAfterMs: 60_000 });
    const res = await client([record(a), record(b)], { random: () => 0, breakers }).send(request());
    expect(res.status).toBe(400);
    expect(new TextDecoder().decode(res.body)).toBe(body);
    expect(b.seen.length).toBe(0);
    expect(breakers.state('a')).toBe('closed');
  });

  it('never sends to the same origin twice in a row: a lone failing origin answers once', async () => {
    const a = await fake('a', { kind: 'status', status: 503, headers: { 'retry-after': '2' } });
    const res = await client([record(a)]).send(request());
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(a.seen.length).toBe(1);
  });

  it('alternates between two failing origins until the attempt budget is spent', async () => {
    const a = await fake('a', { kind: 'status', status: 502 });
    const b = await fake('b', { kind: 'status', status: 502 });
    const res = await client([record(a), record(b)], { random: () => 0 }).send(request());
    expect(res.status).toBe(502);
    expect(a.seen.length + b.seen.length).toBe(3);
    expect(a.seen.length).toBe(2);
  });

  it('fails with 503 NO_HEALTHY_ORIGIN and Retry-After when every origin is down', async () => {
    const err = await client([origin('x', { url: await deadUrl() }), origin('y', { url: await deadUrl() })])
      .send(request())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('NO_HEALTHY_ORIGIN');
    expect((err as AppError).status).toBe(503);
    expect((err as AppError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((err as AppError).message).toMatch(/no healthy origin for model 'm'/);
  });

  it('fails with 503 NO_HEALTHY_ORIGIN when no origin serves the model', async () => {
    const a = await fake('a');
    const err = await client([record(a, { models: [{ name: 'other', versions: [] }] })])
      .send(request())
      .catch((e: unknown) => e);
    expect((err as AppError).code).toBe('NO_HEALTHY_ORIGIN');
    expect(a.seen.length).toBe(0);
  });

  it('gives up on a hung origin after the attempt cap and answers from another', async () => {
    const hung = await fake('hung', { kind: 'hang' });
    const b = await fake('b');
    const res = await client([record(hung), record(b)], { random: () => 0, attemptTimeoutMs: 300 }).send(
      request(),
    );
    expect(res.status).toBe(200);
    expect(res.originId).toBe('b');
    expect(hung.seen.length).toBe(1);
  });

  it('fails with 504 DEADLINE_EXCEEDED when the only origin hangs past the deadline', async () => {
    const hung = await fake('hung', { kind: 'hang' });
    const err = await client([record(hung)])
      .send(request({ deadline: new Deadline(300) }))
      .catch((e: unknown) => e);
    expect((err as AppError).code).toBe('DEADLINE_EXCEEDED');
    expect((err as AppError).status).toBe(504);
  });

  it('retries a connection cut mid-request', async () => {
    const a = await fake('a', { kind: 'reset' });
    const b = await fake('b');
    const res = await client([record(a), record(b)], { random: () => 0 }).send(request());
    expect(res.originId).toBe('b');
  });

  it('opens a failing origin’s breaker so later requests stop trying it', async () => {
    const a = await fake('a', { kind: 'reset' });
    const b = await fake('b');
    const breakers = new BreakerRegistry({ consecutiveFailures: 2, halfOpenAfterMs: 60_000 });
    const c = client([record(a), record(b)], { breakers, random: () => 0 });
    for (let i = 0; i < 5; i++) expect((await c.send(request())).status).toBe(200);
    expect(a.seen.length).toBe(2);
    expect(breakers.state('a')).toBe('open');
    expect(b.seen.length).toBe(5);
  });

  it('does not count a request whose own short deadline ended mid-attempt against the origin’s breaker', async () => {
    // A client can ask for a 1 ms deadline: the origin is fine, the budget was the client's choice.
    const slow = await fake('slow', { kind: 'hang' });
    const breakers = new BreakerRegistry({ consecutiveFailures: 2, halfOpenAfterMs: 60_000 });
    const c = client([record(slow)], { breakers });
    for (let i = 0; i < 4; i++) {
      const err = await c.send(request({ deadline: new Deadline(30) })).catch((e: unknown) => e);
      expect((err as AppError).code).toBe('DEADLINE_EXCEEDED');
    }
    // Even when the attempt's timer fires before the deadline's own clock says it has passed.
    const frozen = new Deadline(1, () => 0);
    const err = await c.send(request({ deadline: frozen })).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('DEADLINE_EXCEEDED');
    expect(breakers.state('slow')).toBe('closed');
  });

  it('still counts the attempt cap passing while the request had time left (a hung origin)', async () => {
    const hung = await fake('hung', { kind: 'hang' });
    const breakers = new BreakerRegistry({ consecutiveFailures: 2, halfOpenAfterMs: 60_000 });
    const c = client([record(hung)], { breakers, attemptTimeoutMs: 30 });
    for (let i = 0; i < 2; i++) await c.send(request()).catch(() => undefined);
    expect(breakers.state('hung')).toBe('open');
  });

  it('does not count an origin’s 504 DEADLINE_EXCEEDED (a queue timeout the request set) against its breaker', async () => {
    const body = JSON.stringify({
      error: 'request timed out after 1µs in the queue',
      code: 'DEADLINE_EXCEEDED',
    });
    const a = await fake('a', { kind: 'status', status: 504, body });
    const breakers = new BreakerRegistry({ consecutiveFailures: 2, halfOpenAfterMs: 60_000 });
    const c = client([record(a)], { breakers });
    for (let i = 0; i < 4; i++) expect((await c.send(request())).status).toBe(504);
    expect(breakers.state('a')).toBe('closed');
    // A 504 without that body (say, a proxy in front of the origin giving up) still counts.
    a.behave({ kind: 'status', status: 504, body: '<html>gateway timeout</html>' });
    for (let i = 0; i < 2; i++) await c.send(request()).catch(() => undefined);
    expect(breakers.state('a')).toBe('open');
  });

  it('fails an attempt whose answer is larger than it reads, counts it against that origin, answers from another', async () => {
    const huge = await fake('huge', { kind: 'status', status: 200, body: 'x'.repeat(5000) });
    const b = await fake('b');
    const breakers = new BreakerRegistry({ consecutiveFailures: 1, halfOpenAfterMs: 60_000 });
    const events: string[] = [];
    const c = client([record(huge), record(b)], {
      breakers,
      random: () => 0,
      maxResponseBytes: 4096,
      onAttempt: (e) => events.push(`${e.originId}:${e.outcome.kind}`),
    });
    const res = await c.send(request());
    expect(res.originId).toBe('b');
    expect(events).toEqual(['huge:oversized', 'b:response']);
    expect(breakers.state('huge')).toBe('open');
  });

  it('reports NO_HEALTHY_ORIGIN with the cooldown as Retry-After when every breaker is open', async () => {
    const a = await fake('a', { kind: 'reset' });
    const breakers = new BreakerRegistry({ consecutiveFailures: 1, halfOpenAfterMs: 30_000 });
    const c = client([record(a)], { breakers });
    await c.send(request()).catch(() => undefined);
    const err = await c.send(request()).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('NO_HEALTHY_ORIGIN');
    expect((err as AppError).retryAfterSeconds).toBeGreaterThan(20);
    expect(a.seen.length).toBe(1);
  });
});

describe('parseSigningKey', () => {
  it('splits keyId:secret and rejects other shapes', () => {
    expect(parseSigningKey('k1:s3cret:x')).toEqual({ keyId: 'k1', secret: 's3cret:x' });
    expect(() => parseSigningKey('nokey')).toThrow(/keyId:secret/);
  });
});

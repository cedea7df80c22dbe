import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleClsPixels } from '../../scripts/dev/example-request.ts';
import { makeRepository } from '../e2e/origin-harness.ts';
import { type RoutedEdge, routedEdge } from '../workers/routes/routed-edge.ts';
import { deadUrl, type FakeOrigin, startFakeOrigin } from '../workers/routing/fake-origins.ts';
import { type OriginProcess, startOriginProcess } from './origin-processes.ts';

/**
 * Faults at the edge against real origins (separate processes running onnxruntime): an origin killed under
 * load, a hung origin, every origin down, and the cache's behaviour sequences end to end.
 */

const pixels = Array.from(exampleClsPixels(), (v) => Math.round(v * 1e4) / 1e4);

function clsBody(variant: number, id?: string): string {
  const data = pixels.slice();
  data[0] = variant / 1000;
  return JSON.stringify({
    ...(id ? { id } : {}),
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data }],
  });
}

async function infer(edge: RoutedEdge, body: string, init: Parameters<RoutedEdge['call']>[1] = {}) {
  const res = await edge.call('/v2/models/ocr-cls/infer', { body, ...init });
  const json = (await res.json()) as Record<string, unknown>;
  await edge.settle();
  return { res, json };
}

async function successCount(origin: OriginProcess, status = 'success'): Promise<number> {
  const text = await (await fetch(`${origin.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('aiserve_origin_requests_total{') && l.includes(`status="${status}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

let repo: string;
let a: OriginProcess;
let b: OriginProcess;
const fakes: FakeOrigin[] = [];

/** A fake origin that holds every request until `release()`; closed after the file. */
async function gatedOrigin(name: string): Promise<{ gated: FakeOrigin; release: () => void }> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const gated = await startFakeOrigin(name, { kind: 'gate', until: gate });
  fakes.push(gated);
  return { gated, release };
}

beforeAll(async () => {
  repo = await makeRepository();
  [a, b] = await Promise.all([startOriginProcess(repo), startOriginProcess(repo)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), ...fakes.map((f) => f.close())]);
});

describe('edge routing under faults (real origins)', () => {
  it('HIT/MISS/BYPASS sequence, tenant isolation and errors never cached, against a real origin', async () => {
    const edge = await routedEdge({ origins: [`a=${a.url}`] });
    const before = await successCount(a);
    const first = await infer(edge, clsBody(1, 'one'));
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get('x-cache')).toBe('MISS');
    expect(first.json.model_name).toBe('ocr-cls');
    const hit = await infer(edge, clsBody(1, 'two'));
    expect(hit.res.headers.get('x-cache')).toBe('HIT-EDGE');
    expect(hit.json.id).toBe('two');
    expect(hit.json.outputs).toEqual(first.json.outputs);
    expect(
      (await infer(edge, clsBody(1), { headers: { 'cache-control': 'no-cache' } })).res.headers.get(
        'x-cache',
      ),
    ).toBe('MISS');
    expect(
      (await infer(edge, clsBody(1), { headers: { 'cache-control': 'no-store' } })).res.headers.get(
        'x-cache',
      ),
    ).toBe('BYPASS');
    const otherTenant = await infer(edge, clsBody(1), { key: edge.keys[1] });
    expect(otherTenant.res.headers.get('x-cache')).toBe('MISS');
    expect(await successCount(a)).toBe(before + 4);

    const badBody = JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }],
    });
    const errorsBefore = await successCount(a, 'INVALID_INPUT');
    for (let i = 0; i < 2; i++) {
      const bad = await infer(edge, badBody);
      expect(bad.res.status).toBe(400);
      expect(bad.res.headers.get('x-cache')).toBe('MISS');
    }
    expect(await successCount(a, 'INVALID_INPUT')).toBe(errorsBefore + 2);
  });

  it('an origin killed mid-load causes no client-visible failure while another origin is up', async () => {
    const edge = await routedEdge({ origins: [`a=${a.url}`, `b=${b.url}`] });
    const total = 40;
    const statuses: number[] = [];
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const { res } = await infer(edge, clsBody(1000 + i), { headers: { 'cache-control': 'no-store' } });
        statuses.push(res.status);
        if (!killed && statuses.length >= 10) {
          killed = true;
          b.kill();
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    expect(killed).toBe(true);
    expect(statuses.length).toBe(total);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // Requests kept being offered to b until its breaker opened: failover, not luck.
    expect(edge.routing.breakers.state('b')).toBe('open');
  });

  it('a hung origin costs one attempt cap, then its breaker opens; no client sees a failure', async () => {
    const hung = await startFakeOrigin('hung', { kind: 'hang' });
    fakes.push(hung);
    const edge = await routedEdge({
      origins: [`hung=${hung.url}`, `a=${a.url}`],
      env: { ORIGIN_ATTEMPT_TIMEOUT_MS: '700', BREAKER_FAILURES: '2' },
      random: () => 0, // the hung origin is listed first and picked first while its breaker is closed
    });
    for (let i = 0; i < 5; i++) {
      const { res } = await infer(edge, clsBody(2000 + i), { headers: { 'cache-control': 'no-store' } });
      expect(res.status).toBe(200);
    }
    expect(hung.seen.length).toBe(2);
    expect(edge.routing.breakers.state('hung')).toBe('open');
  });

  it('answers 503 NO_HEALTHY_ORIGIN with Retry-After when every origin is down', async () => {
    const edge = await routedEdge({ origins: [`b=${b.url}`, `x=${await deadUrl()}`] });
    const { res, json } = await infer(edge, clsBody(3000));
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(json.code).toBe('NO_HEALTHY_ORIGIN');
    expect(String(json.error)).toMatch(/no healthy origin for model 'ocr-cls'/);
  });

  it('N identical concurrent misses reach the origin once, and each caller gets its own id', async () => {
    const { gated, release } = await gatedOrigin('gated');
    const edge = await routedEdge({ origins: [`g=${gated.url}`] });
    const n = 10;
    let joined = 0;
    const run = edge.routing.coalescer.run.bind(edge.routing.coalescer);
    edge.routing.coalescer.run = (key, fn) => {
      joined++;
      return run(key, fn);
    };
    const body = (i: number) =>
      JSON.stringify({ id: `c${i}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [7] }] });
    const pending = Array.from({ length: n }, (_, i) => edge.call('/v2/models/m/infer', { body: body(i) }));
    for (let i = 0; i < 2_000 && joined < n; i++) await sleep(5);
    expect(joined).toBe(n);
    release();
    const responses = await Promise.all(pending);
    const answers = await Promise.all(responses.map((r) => r.json() as Promise<Record<string, unknown>>));
    await edge.settle();
    expect(responses.map((r) => r.status)).toEqual(Array(n).fill(200));
    expect(gated.seen.length).toBe(1);
    expect(answers.map((x) => x.served)).toEqual(Array(n).fill(1));
    expect(answers.map((x) => x.id)).toEqual(Array.from({ length: n }, (_, i) => `c${i}`));
    // The shared answer was stored once; the next identical request is a hit.
    const after = await edge.call('/v2/models/m/infer', { body: body(99) });
    expect(after.headers.get('x-cache')).toBe('HIT-EDGE');
  });

  it('a caller that joined a call which then failed under its leader’s deadline tries again under its own', async () => {
    const { gated, release } = await gatedOrigin('gated-late');
    const edge = await routedEdge({ origins: [`g=${gated.url}`] });
    const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [9] }] });
    const leader = edge.call('/v2/models/m/infer', { body, headers: { 'x-request-timeout-ms': '300' } });
    await sleep(50);
    const follower = edge.call('/v2/models/m/infer', { body, headers: { 'x-request-timeout-ms': '10000' } });
    expect((await leader).status).toBe(504);
    release();
    const res = await follower;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('MISS');
    expect(gated.seen.length).toBe(2);
  });

  it('a failed coalesced call fails every waiter but is not cached: the next call goes to the origin', async () => {
    const failing = await startFakeOrigin('failing', { kind: 'status', status: 500 });
    fakes.push(failing);
    const edge = await routedEdge({ origins: [`f=${failing.url}`] });
    const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [8] }] });
    const results = await Promise.all(
      Array.from({ length: 4 }, () => edge.call('/v2/models/m/infer', { body })),
    );
    expect(results.every((r) => r.status === 500)).toBe(true);
    failing.behave({ kind: 'ok' });
    const ok = await edge.call('/v2/models/m/infer', { body });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-cache')).toBe('MISS');
  });
});

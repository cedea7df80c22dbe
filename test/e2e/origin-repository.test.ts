import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeInferRequest } from '../../origin/protocol/client/encode-request.ts';
import { exampleClsRequest } from '../../scripts/dev/example-request.ts';
import {
  addClsVariant,
  addCorruptModel,
  type Harness,
  makeRepository,
  startHarness,
} from './origin-harness.ts';

const clsBody = JSON.stringify(exampleClsRequest());

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface IndexRow {
  name: string;
  version?: string;
  state: string;
  reason?: string;
}

async function index(harness: Harness): Promise<IndexRow[]> {
  const res = await harness.call('POST', '/v2/repository/index', { body: '{}' });
  expect(res.status).toBe(200);
  return (await res.json()) as IndexRow[];
}

describe('model repository over HTTP', () => {
  it('a corrupt model and a bad config are reported by file while the other models serve, and the origin is not ready', async () => {
    const repo = await makeRepository(async (dir) => {
      await addCorruptModel(dir, 'broken');
      await addClsVariant(dir, 'typo', (c) => {
        c.max_batch_sise = 8;
      });
    });
    h = await startHarness({}, repo);
    const rows = await index(h);
    const broken = rows.find((r) => r.name === 'broken')!;
    expect(broken.state).toBe('UNAVAILABLE');
    expect(broken.reason).toContain(join('broken', '1', 'model.onnx'));
    const typo = rows.find((r) => r.name === 'typo')!;
    expect(typo.state).toBe('UNAVAILABLE');
    expect(typo.reason).toContain('config.json');
    expect(typo.reason).toContain('max_batch_sise');
    expect(rows.find((r) => r.name === 'ocr-cls')?.state).toBe('READY');
    // Every model in the repository is one it should serve (MODEL_CONTROL_MODE=none): two of them cannot be.
    const ready = await h.call('GET', '/v2/health/ready');
    expect(ready.status).toBe(400);
    const report = (await ready.json()) as { ready: boolean; error: string; models: Record<string, string> };
    expect(report).toMatchObject({
      ready: false,
      models: { broken: 'UNAVAILABLE', typo: 'UNAVAILABLE', 'ocr-cls': 'READY', 'ocr-det': 'READY' },
    });
    expect(report.error).toMatch(/broken is UNAVAILABLE.*typo is UNAVAILABLE/);
    expect((await h.call('GET', '/v2/health/live')).status).toBe(200);
    expect((await h.call('POST', '/v2/models/ocr-cls/infer', { body: clsBody })).status).toBe(200);
    const res = await h.call('POST', '/v2/models/broken/infer', { body: clsBody });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(((await res.json()) as { error: string }).error).toContain('broken');
  });

  it('explicit mode loads and unloads models at runtime', async () => {
    const repo = await makeRepository(async (dir) => addCorruptModel(dir, 'broken'));
    h = await startHarness({ MODEL_CONTROL_MODE: 'explicit', LOAD_MODELS: 'ocr-det' }, repo);
    let rows = await index(h);
    expect(rows.find((r) => r.name === 'ocr-det')?.state).toBe('READY');
    expect(rows.find((r) => r.name === 'ocr-cls')?.state).toBe('UNAVAILABLE');
    expect((await h.call('POST', '/v2/models/ocr-cls/infer', { body: clsBody })).status).toBe(404);

    expect((await h.call('POST', '/v2/repository/models/ocr-cls/load')).status).toBe(200);
    expect((await h.call('GET', '/v2/models/ocr-cls/ready')).status).toBe(200);
    expect((await h.call('POST', '/v2/models/ocr-cls/infer', { body: clsBody })).status).toBe(200);
    rows = await index(h);
    expect(rows.find((r) => r.name === 'ocr-cls')?.state).toBe('READY');
    const readyOnly = (await (
      await h.call('POST', '/v2/repository/index', { body: '{"ready":true}' })
    ).json()) as IndexRow[];
    expect(readyOnly.map((r) => r.name).sort()).toEqual(['ocr-cls', 'ocr-det']);

    expect((await h.call('POST', '/v2/repository/models/ocr-cls/unload')).status).toBe(200);
    expect((await h.call('POST', '/v2/models/ocr-cls/infer', { body: clsBody })).status).toBe(404);
    expect((await h.call('GET', '/v2/models/ocr-cls/ready')).status).toBe(400);

    const unknown = await h.call('POST', '/v2/repository/models/nope/load');
    expect(unknown.status).toBe(404);
    const corrupt = await h.call('POST', '/v2/repository/models/broken/load');
    expect(corrupt.status).toBe(400);
    expect(((await corrupt.json()) as { error: string }).error).toContain('model.onnx');
  });

  it('explicit mode is ready when the models it was told to serve are: LOAD_MODELS, then what is loaded and unloaded', async () => {
    const repo = await makeRepository(async (dir) => addCorruptModel(dir, 'broken'));
    h = await startHarness({ MODEL_CONTROL_MODE: 'explicit', LOAD_MODELS: 'ocr-det,broken' }, repo);
    const ready = async () => {
      const res = await h!.call('GET', '/v2/health/ready');
      return {
        status: res.status,
        body: (await res.json()) as { ready: boolean; error?: string; models: object },
      };
    };
    let r = await ready();
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      ready: false,
      error: expect.stringContaining('broken is UNAVAILABLE'),
      models: { broken: 'UNAVAILABLE', 'ocr-det': 'READY' },
    });
    expect((await h.call('POST', '/v2/repository/models/ocr-cls/load')).status).toBe(200);
    r = await ready();
    expect(r.status).toBe(400);
    expect(r.body.models).toEqual({ broken: 'UNAVAILABLE', 'ocr-cls': 'READY', 'ocr-det': 'READY' });
    // The operator gives up on it: what is left is all READY.
    expect((await h.call('POST', '/v2/repository/models/broken/unload')).status).toBe(200);
    r = await ready();
    expect(r).toEqual({
      status: 200,
      body: { ready: true, models: { 'ocr-cls': 'READY', 'ocr-det': 'READY' } },
    });
    // A load that fails was answered with its error; it does not take the origin out of readiness.
    expect((await h.call('POST', '/v2/repository/models/broken/load')).status).toBe(400);
    expect((await ready()).status).toBe(200);
    expect((await h.call('POST', '/v2/repository/models/ocr-cls/unload')).status).toBe(200);
    expect(await ready()).toEqual({ status: 200, body: { ready: true, models: { 'ocr-det': 'READY' } } });
  });

  it('explicit load takes a config override, refuses file uploads and names outside the repository', async () => {
    h = await startHarness(
      { MODEL_CONTROL_MODE: 'explicit', LOAD_MODELS: 'ocr-det' },
      await makeRepository(),
    );
    const load = (body?: string, name = 'ocr-cls') =>
      h!.call('POST', `/v2/repository/models/${name}/load`, body === undefined ? {} : { body });
    const config = { max_batch_size: 2, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, 48, 192] }] };
    const res = await load(JSON.stringify({ parameters: { config: JSON.stringify(config) } }));
    expect(res.status, await res.clone().text()).toBe(200);
    const batchOf = (n: number) =>
      encodeInferRequest({
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [n, 3, 48, 192], data: new Float32Array(n * 3 * 48 * 192) },
        ],
      });
    const four = batchOf(4);
    const refused = await h.call('POST', '/v2/models/ocr-cls/infer', {
      body: four.body as string,
      headers: four.headers,
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toMatch(/max_batch_size|2/);
    const two = batchOf(2);
    expect(
      (await h.call('POST', '/v2/models/ocr-cls/infer', { body: two.body as string, headers: two.headers }))
        .status,
    ).toBe(200);

    const file = await load(JSON.stringify({ parameters: { 'file:1/model.onnx': 'AAAA' } }));
    expect(file.status).toBe(400);
    expect(((await file.json()) as { error: string }).error).toContain('not supported');
    const badConfig = await load(JSON.stringify({ parameters: { config: '{"max_batch_size": "x"}' } }));
    expect(badConfig.status).toBe(400);
    expect(((await badConfig.json()) as { error: string }).error).toContain("'config' parameter");
    const outside = await load(undefined, '..%2F..%2Fetc');
    expect(outside.status).toBe(400);
    expect(((await outside.json()) as { error: string }).error).toContain('is not a model name');
  });

  it('a full queue sheds load at once with 503 and Retry-After', async () => {
    const repo = await makeRepository(async (dir) => {
      await mkdir(join(dir, 'det-tight', '1'), { recursive: true });
      const { copyFile } = await import('node:fs/promises');
      await copyFile(join(dir, 'ocr-det', '1', 'model.onnx'), join(dir, 'det-tight', '1', 'model.onnx'));
      await writeFile(
        join(dir, 'det-tight', 'config.json'),
        JSON.stringify({
          max_batch_size: 1,
          dynamic_batching: { default_queue_policy: { max_queue_size: 2, allow_timeout_override: true } },
          model_warmup: [
            {
              name: 'w',
              batch_size: 1,
              inputs: { x: { data_type: 'TYPE_FP32', dims: [3, 64, 64], zero_data: true } },
            },
          ],
        }),
      );
    });
    // No staged batches: a request waiting for the busy runner stays in the queue, where /metrics shows it.
    h = await startHarness({ STAGED_BATCHES: '0' }, repo);
    const size = 480;
    const req = encodeInferRequest({
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [1, 3, size, size],
          data: new Float32Array(3 * size * size).fill(0.3),
        },
      ],
      binaryInputs: true,
    });
    const send = () =>
      h!.call('POST', '/v2/models/det-tight/infer', { body: req.body as Uint8Array, headers: req.headers });
    const responses = await Promise.all(Array.from({ length: 16 }, send));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    const shed = responses.filter((r) => r.status === 503);
    expect(shed.length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    for (const r of shed) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await r.json()) as { code: string }).code).toBe('QUEUE_FULL');
    }

    // A request whose own timeout expires while it waits is rejected, never run. Waiting until /metrics shows two
    // pending (one running, one queued; batch size 1, one instance) instead of a fixed sleep proves the timed
    // request will wait behind a whole model run, whatever the machine's load.
    // Small and encoded up front, so it reaches the origin within a few milliseconds of the check below.
    const timed = encodeInferRequest({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 64, 64], data: new Float32Array(3 * 64 * 64) }],
      binaryInputs: true,
      parameters: { timeout: 1000 },
    });
    // Large inputs, so each run takes long enough (hundreds of ms) that a busy test process cannot miss it.
    const big = 960;
    const slow = encodeInferRequest({
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [1, 3, big, big],
          data: new Float32Array(3 * big * big).fill(0.3),
        },
      ],
      binaryInputs: true,
    });
    const sendSlow = () =>
      h!.call('POST', '/v2/models/det-tight/infer', { body: slow.body as Uint8Array, headers: slow.headers });
    const first = sendSlow();
    const second = sendSlow();
    const pending = async () => {
      const text = await (await h!.call('GET', '/metrics', { sign: false })).text();
      // Queued plus in flight (ServedModel.pending).
      const m = text.match(/aiserve_origin_pending_requests\{[^}]*model="det-tight"[^}]*\} (\d+)/);
      return m ? Number(m[1]) : 0;
    };
    for (let i = 0; i < 500 && (await pending()) < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const late = await h.call('POST', '/v2/models/det-tight/infer', {
      body: timed.body as Uint8Array,
      headers: timed.headers,
    });
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(late.status).toBe(504);
    expect(((await late.json()) as { code: string }).code).toBe('DEADLINE_EXCEEDED');
  });
});

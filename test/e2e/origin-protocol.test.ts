import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeInferResponse } from '../../origin/protocol/client/decode-response.ts';
import { encodeInferRequest } from '../../origin/protocol/client/encode-request.ts';
import type { Tensor } from '../../origin/protocol/tensor.ts';
import { exampleClsPixels } from '../../scripts/dev/example-request.ts';
import { signRequest } from '../../shared/signing/index.ts';
import { type Harness, KEY_ID, makeRepository, SECRET, startHarness } from './origin-harness.ts';

const OUT = 'softmax_0.tmp_0';
const ITEM = 3 * 48 * 192;

function pixels(n: number, seed = 1): Float32Array {
  const one = exampleClsPixels();
  const out = new Float32Array(n * ITEM);
  for (let i = 0; i < n; i++) {
    out.set(one, i * ITEM);
    // Different items per row, so a mixed-up split would be caught.
    for (let j = 0; j < 200; j++)
      out[i * ITEM + ((j * 131 + i * 17 + seed) % ITEM)] = ((j + i + seed) % 7) / 7;
  }
  return out;
}

function clsInput(n: number, seed = 1): Tensor {
  return { name: 'x', datatype: 'FP32', shape: [n, 3, 48, 192], data: pixels(n, seed) };
}

function jsonBody(n: number, extra: Record<string, unknown> = {}, seed = 1): string {
  return JSON.stringify({
    id: `req-${n}`,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [n, 3, 48, 192], data: Array.from(pixels(n, seed)) }],
    ...extra,
  });
}

async function errorOf(res: Response): Promise<{ error: string; code: string }> {
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = (await res.json()) as { error: string; code: string };
  expect(typeof body.error).toBe('string');
  expect(body.error.length).toBeGreaterThan(5);
  return body;
}

describe('origin over HTTP (real onnxruntime, PaddleOCR models, signed requests)', () => {
  let h: Harness;
  let raw: ort.InferenceSession;

  beforeAll(async () => {
    const repo = await makeRepository();
    h = await startHarness({ MAX_BODY_BYTES: String(8 * 1024 * 1024) }, repo);
    raw = await ort.InferenceSession.create(join(repo, 'ocr-cls', '1', 'model.onnx'));
  });
  afterAll(async () => {
    await raw?.release();
    await h?.close();
  });

  describe('health and metadata', () => {
    it('reports live and ready, and health probes need no signature', async () => {
      const live = await h.call('GET', '/v2/health/live', { sign: false });
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ live: true });
      const ready = await h.call('GET', '/v2/health/ready', { sign: false });
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ready: true, models: { 'ocr-cls': 'READY', 'ocr-det': 'READY' } });
    });

    it('serves server metadata advertising the binary tensor and repository extensions', async () => {
      const res = await h.call('GET', '/v2');
      expect(res.status).toBe(200);
      const body = (await res.json()) as { name: string; version: string; extensions: string[] };
      expect(body.name).toBe('aiserve-origin');
      expect(body.extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'model_repository']));
    });

    it('serves model metadata with the batch dimension as -1', async () => {
      const res = await h.call('GET', '/v2/models/ocr-cls');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        name: 'ocr-cls',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, 192] }],
        outputs: [{ name: OUT, datatype: 'FP32', shape: [-1, 2] }],
      });
      const versioned = await h.call('GET', '/v2/models/ocr-cls/versions/1');
      expect(versioned.status).toBe(200);
    });

    it('answers 404 with a message for an unknown model or version', async () => {
      const model = await h.call('GET', '/v2/models/nope');
      expect(model.status).toBe(404);
      expect((await errorOf(model)).error).toContain("'nope'");
      const version = await h.call('GET', '/v2/models/ocr-cls/versions/9');
      expect(version.status).toBe(404);
      expect((await errorOf(version)).error).toContain('9');
      expect((await h.call('GET', '/v2/models/nope/ready')).status).toBe(404);
    });

    it('reports model readiness per model and version', async () => {
      const res = await h.call('GET', '/v2/models/ocr-cls/ready');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ name: 'ocr-cls', ready: true });
      expect((await h.call('GET', '/v2/models/ocr-det/versions/1/ready')).status).toBe(200);
    });
  });

  describe('inference', () => {
    it('returns the same probabilities as onnxruntime run directly, with the id echoed', async () => {
      const res = await h.call('POST', '/v2/models/ocr-cls/infer', {
        body: jsonBody(2),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        model_name: string;
        model_version: string;
        id: string;
        outputs: Array<{ name: string; datatype: string; shape: number[]; data: number[] }>;
      };
      expect(body.model_name).toBe('ocr-cls');
      expect(body.model_version).toBe('1');
      expect(body.id).toBe('req-2');
      const direct = await raw.run({ x: new ort.Tensor('float32', pixels(2), [2, 3, 48, 192]) });
      const expected = Array.from(direct[OUT]!.data as Float32Array);
      expect(body.outputs[0]).toMatchObject({ name: OUT, datatype: 'FP32', shape: [2, 2] });
      body.outputs[0]!.data.forEach((v, i) => {
        expect(v).toBeCloseTo(expected[i]!, 5);
      });
    });

    it('accepts nested data arrays', async () => {
      const flat = Array.from(pixels(1));
      const nested = [
        [0, 1, 2].map((c) =>
          Array.from({ length: 48 }, (_, y) => flat.slice(c * 9216 + y * 192, c * 9216 + (y + 1) * 192)),
        ),
      ];
      const res = await h.call('POST', '/v2/models/ocr-cls/infer', {
        body: JSON.stringify({
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: nested }],
        }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { outputs: Array<{ shape: number[] }> };
      expect(body.outputs[0]!.shape).toEqual([1, 2]);
    });

    it('speaks the binary tensor extension both ways and agrees with JSON', async () => {
      const req = encodeInferRequest({
        id: 'bin',
        inputs: [clsInput(3)],
        binaryInputs: true,
        parameters: { binary_data_output: true },
      });
      const res = await h.call('POST', '/v2/models/ocr-cls/infer', {
        body: req.body as Uint8Array,
        headers: req.headers,
      });
      expect(res.status).toBe(200);
      const headerLength = res.headers.get('inference-header-content-length');
      expect(headerLength).toMatch(/^\d+$/);
      const decoded = decodeInferResponse(new Uint8Array(await res.arrayBuffer()), {
        inferenceHeaderContentLength: headerLength ?? undefined,
      });
      const out = decoded.outputs.find((o) => o.name === OUT)!;
      expect(out.shape).toEqual([3, 2]);
      const direct = await raw.run({ x: new ort.Tensor('float32', pixels(3), [3, 3, 48, 192]) });
      expect(Array.from(out.data as Float32Array)).toEqual(Array.from(direct[OUT]!.data as Float32Array));
    });

    it('returns only the requested outputs and honours binary_data per output', async () => {
      const res = await h.call('POST', '/v2/models/ocr-cls/infer', {
        body: jsonBody(1, { outputs: [{ name: OUT, parameters: { binary_data: false } }] }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { outputs: Array<{ name: string }> };
      expect(body.outputs.map((o) => o.name)).toEqual([OUT]);
    });

    it('serves an explicit version and 404s a missing one', async () => {
      expect(
        (await h.call('POST', '/v2/models/ocr-cls/versions/1/infer', { body: jsonBody(1) })).status,
      ).toBe(200);
      const missing = await h.call('POST', '/v2/models/ocr-cls/versions/2/infer', { body: jsonBody(1) });
      expect(missing.status).toBe(404);
      await errorOf(missing);
    });

    it('runs the detector on an image whose size the request chooses', async () => {
      const det: Tensor = {
        name: 'x',
        datatype: 'FP32',
        shape: [1, 3, 64, 96],
        data: new Float32Array(3 * 64 * 96).fill(0.5),
      };
      const req = encodeInferRequest({ inputs: [det], binaryInputs: true });
      const res = await h.call('POST', '/v2/models/ocr-det/infer', {
        body: req.body as Uint8Array,
        headers: req.headers,
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { outputs: Array<{ shape: number[] }> };
      expect(body.outputs[0]!.shape).toEqual([1, 1, 64, 96]);
    });

    it('batches concurrent single-item requests and splits each answer back exactly', async () => {
      const before = await metricValues();
      const n = 24;
      // A 32-item request keeps the runner busy for a while, so the singles that arrive meanwhile queue up
      // together whatever the machine's load: without it, on a slow moment each single could find the runner
      // idle and run alone (the idle rule), and the check below would depend on timing.
      const bigReq = encodeInferRequest({ inputs: [clsInput(32, 99)], binaryInputs: true });
      const big = h.call('POST', '/v2/models/ocr-cls/infer', {
        body: bigReq.body as Uint8Array,
        headers: bigReq.headers,
      });
      const results = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const req = encodeInferRequest({
            inputs: [clsInput(1, i)],
            binaryInputs: true,
            parameters: { binary_data_output: true },
          });
          const res = await h.call('POST', '/v2/models/ocr-cls/infer', {
            body: req.body as Uint8Array,
            headers: req.headers,
          });
          expect(res.status).toBe(200);
          const decoded = decodeInferResponse(new Uint8Array(await res.arrayBuffer()), {
            inferenceHeaderContentLength: res.headers.get('inference-header-content-length') ?? undefined,
          });
          return Array.from(decoded.outputs[0]!.data as Float32Array);
        }),
      );
      for (let i = 0; i < n; i++) {
        const direct = await raw.run({ x: new ort.Tensor('float32', pixels(1, i), [1, 3, 48, 192]) });
        const expected = Array.from(direct[OUT]!.data as Float32Array);
        results[i]!.forEach((v, j) => {
          expect(v).toBeCloseTo(expected[j]!, 5);
        });
      }
      const bigRes = await big;
      expect(bigRes.status).toBe(200);
      await bigRes.arrayBuffer();
      const after = await metricValues();
      const inferences = after.inferences - before.inferences;
      const executions = after.executions - before.executions;
      expect(inferences).toBe(n + 32);
      // The big request is one execution of its own; the singles ran in fewer executions than requests.
      expect(executions).toBeLessThan(n + 1);
    });
  });

  describe('bad input is a 4xx that says what was wrong', () => {
    const infer = (body: string | Uint8Array, headers: Record<string, string> = {}) =>
      h.call('POST', '/v2/models/ocr-cls/infer', { body, headers });

    it('malformed JSON is 400', async () => {
      const res = await infer('{"inputs": [');
      expect(res.status).toBe(400);
      expect((await errorOf(res)).error).toMatch(/JSON/);
    });

    it('wrong datatype is 400 naming the input', async () => {
      const res = await infer(
        JSON.stringify({
          inputs: [{ name: 'x', datatype: 'INT32', shape: [1, 3, 48, 192], data: new Array(ITEM).fill(0) }],
        }),
      );
      expect(res.status).toBe(400);
      const { error } = await errorOf(res);
      expect(error).toContain('x');
      expect(error).toMatch(/FP32|datatype/);
    });

    it('wrong shape is 400', async () => {
      const res = await infer(
        JSON.stringify({
          inputs: [
            { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 100], data: new Array(3 * 48 * 100).fill(0) },
          ],
        }),
      );
      expect(res.status).toBe(400);
      expect((await errorOf(res)).error).toMatch(/shape|dim/);
    });

    it('an image size the detector cannot run on is 400 naming the model, and the detector keeps serving', async () => {
      for (const [h2, w2] of [
        [0, 0],
        [7, 5],
      ] as const) {
        const res = await h.call('POST', '/v2/models/ocr-det/infer', {
          body: JSON.stringify({
            inputs: [
              { name: 'x', datatype: 'FP32', shape: [1, 3, h2, w2], data: new Array(3 * h2 * w2).fill(0.5) },
            ],
          }),
        });
        expect(res.status, `${h2}×${w2}`).toBe(400);
        const { error, code } = (await res.json()) as { error: string; code: string };
        expect(code).toBe('INVALID_INPUT');
        expect(error).toMatch(/^model ocr-det:1 cannot run on this input .*Status Message: /);
        expect(error).not.toContain('onnxruntime_src');
      }
      const ok = await h.call('POST', '/v2/models/ocr-det/infer', {
        body: JSON.stringify({
          inputs: [
            { name: 'x', datatype: 'FP32', shape: [1, 3, 32, 32], data: new Array(3 * 32 * 32).fill(0.5) },
          ],
        }),
      });
      expect(ok.status).toBe(200);
    });

    it('headers over Node’s 16 KiB limit are 431 with the JSON error body', async () => {
      const res = await fetch(`${h.url}/v2/health/live`, { headers: { 'x-big': 'a'.repeat(20_000) } });
      expect(res.status).toBe(431);
      expect(await res.json()).toMatchObject({ code: 'HEADERS_TOO_LARGE' });
    });

    it('data length that does not match the shape is 400', async () => {
      const res = await infer(
        JSON.stringify({
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: [1, 2, 3] }],
        }),
      );
      expect(res.status).toBe(400);
      expect((await errorOf(res)).error).toMatch(/3/);
    });

    it('a missing input and an unknown input are 400', async () => {
      const missing = await infer(
        JSON.stringify({ inputs: [{ name: 'y', datatype: 'FP32', shape: [1], data: [1] }] }),
      );
      expect(missing.status).toBe(400);
      expect((await errorOf(missing)).error).toMatch(/'x'|'y'/);
      const empty = await infer(JSON.stringify({ inputs: [] }));
      expect(empty.status).toBe(400);
      await errorOf(empty);
    });

    it('an unknown requested output is 400', async () => {
      const res = await infer(jsonBody(1, { outputs: [{ name: 'nope' }] }));
      expect(res.status).toBe(400);
      expect((await errorOf(res)).error).toContain('nope');
    });

    it('a batch above max_batch_size is 400', async () => {
      const req = encodeInferRequest({ inputs: [clsInput(33)], binaryInputs: true });
      const res = await infer(req.body as Uint8Array, req.headers);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).error).toMatch(/32/);
    });

    it('a binary body whose sizes do not add up is 400', async () => {
      const req = encodeInferRequest({ inputs: [clsInput(1)], binaryInputs: true });
      const bytes = (req.body as Uint8Array).subarray(0, (req.body as Uint8Array).byteLength - 4);
      const res = await infer(bytes, req.headers);
      expect(res.status).toBe(400);
      await errorOf(res);
      const badHeader = await infer(req.body as Uint8Array, {
        ...req.headers,
        'inference-header-content-length': '99999999',
      });
      expect(badHeader.status).toBe(400);
      await errorOf(badHeader);
    });

    it('an oversized body is 413', async () => {
      const res = await infer(new Uint8Array(9 * 1024 * 1024), { 'content-type': 'application/json' });
      expect(res.status).toBe(413);
      expect((await errorOf(res)).error).toMatch(/limit/);
    });

    it('scheduling parameters of the wrong type are 400', async () => {
      const priority = await infer(jsonBody(1, { parameters: { priority: 'high' } }));
      expect(priority.status).toBe(400);
      expect((await errorOf(priority)).error).toContain('priority');
      const timeout = await infer(jsonBody(1, { parameters: { timeout: -5 } }));
      expect(timeout.status).toBe(400);
      expect((await errorOf(timeout)).error).toContain('timeout');
    });

    it('inference on an unknown model is 404', async () => {
      const res = await h.call('POST', '/v2/models/nope/infer', { body: jsonBody(1) });
      expect(res.status).toBe(404);
      await errorOf(res);
    });

    it('a wrong method is 405 with Allow, an unknown path 404', async () => {
      const wrong = await h.call('GET', '/v2/models/ocr-cls/infer');
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('POST');
      await errorOf(wrong);
      const unknown = await h.call('GET', '/v3/whatever');
      expect(unknown.status).toBe(404);
      await errorOf(unknown);
    });

    it('an unsupported content type is 415', async () => {
      const res = await infer(jsonBody(1), { 'content-type': 'image/png' });
      expect(res.status).toBe(415);
      await errorOf(res);
    });

    it('repository index rejects a malformed body with 400', async () => {
      const res = await h.call('POST', '/v2/repository/index', { body: '{"ready": "yes"}' });
      expect(res.status).toBe(400);
      await errorOf(res);
    });

    it('load and unload are refused when model control is not explicit', async () => {
      const res = await h.call('POST', '/v2/repository/models/ocr-cls/unload');
      expect(res.status).toBe(400);
      expect((await errorOf(res)).error).toContain('MODEL_CONTROL_MODE');
    });
  });

  describe('edge signatures', () => {
    it('rejects unsigned inference with 401', async () => {
      const res = await h.call('POST', '/v2/models/ocr-cls/infer', { body: jsonBody(1), sign: false });
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe('UNAUTHENTICATED');
    });

    it('rejects a signature made with the wrong secret', async () => {
      const body = jsonBody(1);
      const headers = await signRequest({
        method: 'POST',
        pathWithQuery: '/v2/models/ocr-cls/infer',
        body,
        keyId: KEY_ID,
        secret: 'wrong',
      });
      const res = await h.call('POST', '/v2/models/ocr-cls/infer', { body, headers, sign: false });
      expect(res.status).toBe(401);
    });

    it('rejects a replayed request', async () => {
      const body = jsonBody(1);
      const headers = await signRequest({
        method: 'POST',
        pathWithQuery: '/v2/models/ocr-cls/infer',
        body,
        keyId: KEY_ID,
        secret: SECRET,
      });
      expect((await h.call('POST', '/v2/models/ocr-cls/infer', { body, headers, sign: false })).status).toBe(
        200,
      );
      const replay = await h.call('POST', '/v2/models/ocr-cls/infer', { body, headers, sign: false });
      expect(replay.status).toBe(401);
      expect((await errorOf(replay)).error).toMatch(/replay|nonce already used/i);
    });

    it('rejects a stale timestamp', async () => {
      const body = jsonBody(1);
      const headers = await signRequest({
        method: 'POST',
        pathWithQuery: '/v2/models/ocr-cls/infer',
        body,
        keyId: KEY_ID,
        secret: SECRET,
        now: () => Date.now() - 3600_000,
      });
      const res = await h.call('POST', '/v2/models/ocr-cls/infer', { body, headers, sign: false });
      expect(res.status).toBe(401);
    });

    it('rejects a body changed after signing', async () => {
      const headers = await signRequest({
        method: 'POST',
        pathWithQuery: '/v2/models/ocr-cls/infer',
        body: jsonBody(1),
        keyId: KEY_ID,
        secret: SECRET,
      });
      const res = await h.call('POST', '/v2/models/ocr-cls/infer', {
        body: jsonBody(2),
        headers,
        sign: false,
      });
      expect(res.status).toBe(401);
    });
  });

  it('exposes Prometheus metrics with request outcomes by model and reason', async () => {
    const res = await h.call('GET', '/metrics', { sign: false });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(
      /aiserve_origin_requests_total\{[^}]*model="ocr-cls"[^}]*status="success"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(/aiserve_origin_requests_total\{[^}]*status="INVALID_INPUT"[^}]*\} [1-9]/);
    expect(text).toContain('aiserve_origin_queue_duration_seconds_bucket');
    expect(text).toContain('aiserve_origin_compute_duration_seconds_bucket');
    expect(text).toContain('aiserve_origin_event_loop_lag_seconds');
    expect(text).toContain('aiserve_origin_pending_requests');
  });

  async function metricValues(): Promise<{ inferences: number; executions: number }> {
    const text = await (await h.call('GET', '/metrics', { sign: false })).text();
    const read = (name: string) => {
      const m = text.match(new RegExp(`${name}\\{[^}]*model="ocr-cls"[^}]*\\} (\\d+)`));
      return m ? Number(m[1]) : 0;
    };
    return {
      inferences: read('aiserve_origin_inference_count_total'),
      executions: read('aiserve_origin_execution_count_total'),
    };
  }
});

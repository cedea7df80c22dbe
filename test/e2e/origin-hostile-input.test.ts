import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeInferRequest } from '../../origin/protocol/client/encode-request.ts';
import type { Tensor } from '../../origin/protocol/tensor.ts';
import { seededRandom as rng } from '../../scripts/sim/rng.ts';
import type { Datatype } from '../../shared/protocol/datatypes.ts';
import { type Harness, makeRepository, startHarness } from './origin-harness.ts';

/**
 * R5 at the origin: seeded random requests, mostly near-valid inference requests for the shipped PaddleOCR
 * models (the detector takes any image size, so odd sizes reach onnxruntime's kernels), the rest hostile paths,
 * methods and headers, over real HTTP with signatures. No answer may be a 5xx, every error is the JSON error
 * body, and the models still answer correctly afterwards. FUZZ_SEED=<n> runs another sequence.
 */

const OTHER_DATATYPES: Datatype[] = ['FP16', 'FP64', 'INT64', 'INT32', 'UINT8', 'BOOL', 'BYTES'];

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  /** Sets Triton's `timeout` parameter: a 504 DEADLINE_EXCEEDED is then the answer the client asked for. */
  clientTimeout?: boolean;
}

function tensorData(datatype: Datatype, n: number, r: () => number): Tensor['data'] {
  switch (datatype) {
    case 'FP32':
      return Float32Array.from({ length: n }, () => (r() < 0.02 ? Number.NaN : r() * 2 - 1));
    case 'FP64':
      return Float64Array.from({ length: n }, () => r() * 2 - 1);
    case 'FP16':
      return Uint16Array.from({ length: n }, () => Math.floor(r() * 0x7c00));
    case 'INT64':
      return BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * 200) - 100));
    case 'INT32':
      return Int32Array.from({ length: n }, () => Math.floor(r() * 200) - 100);
    case 'UINT8':
    case 'BOOL':
      return Uint8Array.from({ length: n }, () => Math.floor(r() * 2));
    default:
      return Array.from({ length: n }, () => 'x');
  }
}

function inferRequest(r: () => number): Sent {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const model = r() < 0.92 ? pick(['ocr-det', 'ocr-det', 'ocr-cls']) : pick(['nope', '', '%2F']);
  const version = r() < 0.85 ? undefined : pick(['1', '1', '2', '%00', '-1']);
  const batch = pick([1, 1, 1, 2, 0]);
  const channels = r() < 0.85 ? 3 : pick([0, 1, 4]);
  const [height, width] =
    model === 'ocr-cls' && r() < 0.7
      ? [48, 192]
      : [pick([32, 32, 64, 0, 1, 7, 31, 33]), pick([32, 32, 64, 0, 1, 5, 40])];
  const datatype: Datatype = r() < 0.75 ? 'FP32' : pick(OTHER_DATATYPES);
  const shape = r() < 0.9 ? [batch, channels, height, width] : pick([[], [1], [1, 3, 32], [1, 3, 32, 32, 1]]);
  const count = shape.reduce((a, b) => a * b, 1);
  const length = r() < 0.9 ? count : Math.max(0, count + pick([-1, 1, -count]));
  const input: Tensor = {
    name: r() < 0.92 ? 'x' : pick(['y', '', 'X']),
    datatype,
    shape,
    data: tensorData(datatype, length, r),
  };
  const parameters: Record<string, unknown> = {};
  if (r() < 0.15) parameters.timeout = pick([0, 1, 5_000_000, -1, 'soon', 1.5, 2 ** 60]);
  if (r() < 0.15) parameters.priority = pick([0, 1, 2, 99, -1, '1', null]);
  if (r() < 0.1) parameters.binary_data_output = pick([true, false, 'yes', 1]);
  const outputs =
    r() < 0.2
      ? [
          {
            name: pick(['sigmoid_0.tmp_0', 'softmax_0.tmp_0', 'nope']),
            binary: pick([undefined, true, false]),
          },
        ]
      : undefined;
  const binary = r() < 0.6 && datatype !== 'BYTES';
  const encoded = encodeInferRequest({
    id: r() < 0.5 ? 'fuzz' : undefined,
    inputs: [input],
    outputs,
    parameters,
    binaryInputs: binary,
  });
  const headers = { ...(encoded.headers as Record<string, string>) };
  let body = encoded.body as string | Uint8Array;
  if (binary && r() < 0.15) {
    // A header length that does not fit the body.
    headers['inference-header-content-length'] = pick(['0', '-3', 'abc', '99999999', '7']);
  }
  if (r() < 0.05 && typeof body !== 'string') body = body.subarray(0, Math.floor(body.length * r()));
  const path = `/v2/models/${model}${version === undefined ? '' : `/versions/${version}`}/infer`;
  return { method: 'POST', path, headers, body, clientTimeout: 'timeout' in parameters };
}

function junkRequest(r: () => number): Sent {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const path = pick([
    '/v2',
    '/v2/health/live',
    '/v2/health/ready',
    '/v2/models/ocr-det',
    '/v2/models/ocr-det/ready',
    '/v2/models/ocr-cls/versions/1',
    '/v2/models/%E0%A4%A/infer',
    '/v2/models/ocr-cls/infer',
    '/v2/repository/index',
    '/v2/repository/models/ocr-cls/load',
    '/v2/repository/models/ocr-cls/unload',
    '/v2/repository/models/ocr-det/load',
    '/v2/repository/models/nope/unload',
    '/v2/repository/models/..%2F..%2Fetc/load',
    '/v2/repository/models/%00/unload',
    '/metrics',
    '/nothing',
  ]);
  const method = pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
  const headers: Record<string, string> = {};
  if (r() < 0.5)
    headers['content-type'] = pick(['application/json', 'text/plain', 'application/octet-stream', 'a/b;;']);
  if (r() < 0.2) headers['inference-header-content-length'] = pick(['1', 'x', '-1']);
  if (r() < 0.2) headers.traceparent = pick(['00-zz', `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`]);
  const body =
    method === 'GET'
      ? undefined
      : pick([
          '',
          '{',
          '[]',
          'null',
          '{"ready":"yes"}',
          '{"inputs":[{"name":"x"}]}',
          '{"inputs":7}',
          '{"parameters":{"config":"{\\"max_batch_size\\":4}"}}',
          '{"parameters":{"config":"{\\"max_batch_size\\":\\"x\\"}"}}',
          '{"parameters":{"config":{}}}',
          '{"parameters":{"file:1/model.onnx":"AAAA"}}',
          '{"parameters":{"unload_dependents":"no"}}',
        ]);
  return { method, path, headers, body };
}

let h: Harness;

beforeAll(async () => {
  // Explicit model control, so the random load and unload requests really load and unload.
  h = await startHarness(
    {
      MAX_BODY_BYTES: String(4 * 1024 * 1024),
      MODEL_CONTROL_MODE: 'explicit',
      LOAD_MODELS: 'ocr-cls,ocr-det',
    },
    await makeRepository(),
  );
}, 120_000);

afterAll(async () => {
  await h?.close();
});

/**
 * Sends `count` seeded requests, `concurrency` at a time (overlapping ones share batches: a batch the model
 * cannot run is split so only the request at fault fails); fails on the first 5xx or non-JSON error.
 */
async function fuzz(count: number, concurrency: number): Promise<void> {
  const r = rng(Number(process.env.FUZZ_SEED ?? 20261129) + concurrency);
  const statuses = new Map<number, number>();
  const one = async (i: number, sent: Sent) => {
    const res = await h.call(sent.method, sent.path, { body: sent.body, headers: sent.headers });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const size = sent.body === undefined ? 0 : sent.body.length;
    const where = `request ${i}: ${sent.method} ${sent.path} ${JSON.stringify(sent.headers)} <${size} bytes>`;
    if (res.status < 400) {
      await res.arrayBuffer();
      return;
    }
    expect(res.headers.get('content-type'), where).toMatch(/^application\/json/);
    const body = (await res.json()) as { error?: unknown; code?: unknown };
    expect(typeof body.error, where).toBe('string');
    const asked = sent.clientTimeout && res.status === 504 && body.code === 'DEADLINE_EXCEEDED';
    if (res.status >= 500 && !asked) expect.fail(`${where} → ${res.status}: ${JSON.stringify(body)}`);
  };
  for (let i = 0; i < count; i += concurrency) {
    const wave: Array<Promise<void>> = [];
    for (let j = i; j < Math.min(count, i + concurrency); j++) {
      wave.push(one(j, r() < 0.8 ? inferRequest(r) : junkRequest(r)));
    }
    await Promise.all(wave);
  }
  for (const status of [200, 400, 404])
    expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
}

describe('the origin under hostile input', () => {
  it('answers 800 seeded random requests below 500 with JSON errors, and the models still answer after', async () => {
    await fuzz(800, 1);
    // The run may have unloaded them or loaded them with another config: load both from their files again.
    for (const model of ['ocr-cls', 'ocr-det']) {
      expect((await h.call('POST', `/v2/repository/models/${model}/load`)).status).toBe(200);
    }
    const det = await h.call('POST', '/v2/models/ocr-det/infer', {
      body: JSON.stringify({
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [1, 3, 32, 32], data: new Array(3 * 32 * 32).fill(0.5) },
        ],
      }),
    });
    expect(det.status).toBe(200);
    const ready = await h.call('GET', '/v2/health/ready');
    expect(await ready.json()).toMatchObject({ ready: true });
  }, 180_000);

  it('answers 800 more, eight at a time, below 500: hostile requests sharing batches', async () => {
    await fuzz(800, 8);
    for (const model of ['ocr-cls', 'ocr-det']) {
      expect((await h.call('POST', `/v2/repository/models/${model}/load`)).status).toBe(200);
    }
    const ready = await h.call('GET', '/v2/health/ready');
    expect(await ready.json()).toMatchObject({ ready: true });
  }, 180_000);
});

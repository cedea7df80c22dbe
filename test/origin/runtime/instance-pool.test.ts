import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../../origin/protocol/tensor.ts';
import { resetCudaFallbackWarning } from '../../../origin/runtime/execution-provider.ts';
import { ModelInstancePool, type ModelInstancePoolOptions } from '../../../origin/runtime/instance-pool.ts';
import { AppError } from '../../../shared/errors/index.ts';
import type { Datatype } from '../../../shared/protocol/datatypes.ts';
import { floatToHalf } from '../../../shared/protocol/fp16.ts';
import {
  addOneModel,
  CORRUPT_MODEL,
  CRASH_INPUT,
  CRASHING_WORKER_URL,
  captureLogger,
  identityModel,
  lookupModel,
  PADDLE_CLS_PATH,
  testExecution,
} from '../../support/onnx-models.ts';

let dir: string;
const pools: ModelInstancePool[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aiserve-pool-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

async function modelFile(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

async function createPool(options: Partial<ModelInstancePoolOptions> & { modelPath: string }) {
  const pool = await ModelInstancePool.create({
    count: 1,
    sessionOptions: testExecution(),
    logger: captureLogger().logger,
    ...options,
  });
  pools.push(pool);
  return pool;
}

function fp32(name: string, shape: number[], values: number[]): Tensor {
  return { name, datatype: 'FP32', shape, data: Float32Array.from(values) };
}

function randomImageBatch(n: number): Tensor {
  const data = new Float32Array(n * 3 * 48 * 192);
  for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1;
  return { name: 'x', datatype: 'FP32', shape: [n, 3, 48, 192], data };
}

describe('ModelInstancePool with the PaddleOCR classifier', () => {
  it('classifies a batch of 4 into a [4,2] softmax whose rows sum to 1', async () => {
    const pool = await createPool({ modelPath: PADDLE_CLS_PATH });
    const [out] = await pool.run([randomImageBatch(4)], ['softmax_0.tmp_0']);
    expect(out?.name).toBe('softmax_0.tmp_0');
    expect(out?.datatype).toBe('FP32');
    expect(out?.shape).toEqual([4, 2]);
    const data = out!.data as Float32Array;
    expect(data).toBeInstanceOf(Float32Array);
    for (let row = 0; row < 4; row++) expect(data[row * 2]! + data[row * 2 + 1]!).toBeCloseTo(1, 4);
  });

  it('reads inputs and outputs from the session, symbolic dimensions as -1', async () => {
    const pool = await createPool({ modelPath: PADDLE_CLS_PATH });
    expect(pool.metadata).toEqual({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, -1, -1] }],
      outputs: [{ name: 'softmax_0.tmp_0', datatype: 'FP32', shape: [-1, 2] }],
    });
    expect(pool.provider).toBe('cpu');
  });

  it('runs on two workers at the same time and gives each caller its own result', async () => {
    const pool = await createPool({ modelPath: PADDLE_CLS_PATH, count: 2 });
    const a = randomImageBatch(2);
    const b = randomImageBatch(3);
    const runA = pool.run([a]);
    const runB = pool.run([b]);
    expect(pool.stats).toMatchObject({ instances: 2, busy: 2, queued: 0 });
    const [[outA], [outB]] = await Promise.all([runA, runB]);
    expect(outA?.shape).toEqual([2, 2]);
    expect(outB?.shape).toEqual([3, 2]);
    expect(pool.stats).toMatchObject({ busy: 0, completedRuns: 2 });
  });
});

describe('ModelInstancePool dispatch', () => {
  it('queues runs while every instance is busy and completes them all in order', async () => {
    const pool = await createPool({ modelPath: await modelFile('add.onnx', addOneModel()) });
    const runs = [1, 2, 3].map((v) => pool.run([fp32('X', [1, 3], [v, v, v])]));
    expect(pool.stats).toMatchObject({ busy: 1, queued: 2 });
    const outs = await Promise.all(runs);
    expect(outs.map((o) => Array.from(o[0]!.data as Float32Array))).toEqual([
      [2, 2, 2],
      [3, 3, 3],
      [4, 4, 4],
    ]);
  });

  it('returns every model output when no output names are given', async () => {
    const pool = await createPool({ modelPath: await modelFile('add-all.onnx', addOneModel()) });
    const outs = await pool.run([fp32('X', [2, 3], [0, 1, 2, 3, 4, 5])]);
    expect(outs.map((o) => o.name)).toEqual(['Y']);
    expect(Array.from(outs[0]!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('moves whole-buffer inputs to the worker but copies views into a larger buffer', async () => {
    const pool = await createPool({ modelPath: await modelFile('add-transfer.onnx', addOneModel()) });
    const owned = new Float32Array([1, 2, 3]);
    await pool.run([fp32('X', [1, 3], [0, 0, 0])]);
    await pool.run([{ name: 'X', datatype: 'FP32', shape: [1, 3], data: owned }]);
    expect(owned.length).toBe(0); // transferred, so detached here

    const shared = new Float32Array([10, 20, 30, 40, 50, 60]);
    const view = shared.subarray(3);
    const [out] = await pool.run([{ name: 'X', datatype: 'FP32', shape: [1, 3], data: view }]);
    expect(Array.from(out!.data as Float32Array)).toEqual([41, 51, 61]);
    expect(Array.from(shared)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('rejects an input the session refuses as INVALID_INPUT with the onnxruntime message, and keeps serving', async () => {
    const pool = await createPool({ modelPath: await modelFile('add-bad.onnx', addOneModel()) });
    const bad = pool.run([fp32('X', [1, 4], [1, 2, 3, 4])]);
    await expect(bad).rejects.toBeInstanceOf(AppError);
    await expect(bad).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      status: 400,
      message: expect.stringMatching(/^model .*add-bad\.onnx cannot run on this input.*dim/i),
    });
    const [ok] = await pool.run([fp32('X', [1, 3], [1, 2, 3])]);
    expect(Array.from(ok!.data as Float32Array)).toEqual([2, 3, 4]);
    expect(pool.stats).toMatchObject({ failedRuns: 1, completedRuns: 1, crashes: 0 });
  });

  it('rejects a kernel failure caused by the values as INVALID_INPUT without build paths', async () => {
    const pool = await createPool({ modelPath: await modelFile('lookup.onnx', lookupModel()) });
    const index = (i: number): Tensor => ({
      name: 'I',
      datatype: 'INT64',
      shape: [1, 1],
      data: BigInt64Array.from([BigInt(i)]),
    });
    const bad = pool.run([index(7)]);
    await expect(bad).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('Gather'),
    });
    await expect(bad).rejects.not.toMatchObject({ message: expect.stringContaining('onnxruntime_src') });
    const [ok] = await pool.run([index(2)]);
    expect(Array.from(ok!.data as Float32Array)).toEqual([30]);
  });

  it('close() lets in-flight runs finish, then refuses new runs', async () => {
    const pool = await createPool({ modelPath: PADDLE_CLS_PATH });
    const inFlight = pool.run([randomImageBatch(2)]);
    const closed = pool.close();
    await expect(inFlight).resolves.toHaveLength(1);
    await closed;
    await expect(pool.run([randomImageBatch(1)])).rejects.toMatchObject({ code: 'MODEL_NOT_READY' });
    expect(pool.stats.live).toBe(0);
  });
});

describe('ModelInstancePool datatypes', () => {
  const cases: Array<[Datatype, Tensor['data'], abstract new (...args: never) => unknown]> = [
    ['FP32', new Float32Array([1.5, -2, 3, 4]), Float32Array],
    ['FP64', new Float64Array([1e300, -2, 3, 4]), Float64Array],
    ['FP16', Uint16Array.from([1, -2, 0.5, 65504].map(floatToHalf)), Uint16Array],
    ['INT8', new Int8Array([-128, 0, 1, 127]), Int8Array],
    ['UINT8', new Uint8Array([0, 1, 254, 255]), Uint8Array],
    ['INT16', new Int16Array([-32768, 0, 1, 32767]), Int16Array],
    ['UINT16', new Uint16Array([0, 1, 2, 65535]), Uint16Array],
    ['INT32', new Int32Array([-(2 ** 31), 0, 1, 2 ** 31 - 1]), Int32Array],
    ['UINT32', new Uint32Array([0, 1, 2, 2 ** 32 - 1]), Uint32Array],
    ['INT64', new BigInt64Array([-(2n ** 63n), 0n, 1n, 2n ** 63n - 1n]), BigInt64Array],
    ['UINT64', new BigUint64Array([0n, 1n, 2n, 2n ** 64n - 1n]), BigUint64Array],
    ['BOOL', new Uint8Array([1, 0, 0, 1]), Uint8Array],
    ['BYTES', ['a', '', 'héllo', 'x'.repeat(100)], Array],
  ];

  it.each(cases)('%s tensors go through an Identity model unchanged', async (datatype, data, type) => {
    const pool = await createPool({
      modelPath: await modelFile(`id-${datatype}.onnx`, identityModel(datatype)),
    });
    expect(pool.metadata.inputs).toEqual([{ name: 'IN', datatype, shape: [-1, 2] }]);
    const expected = Array.isArray(data) ? [...data] : Array.from(data as ArrayLike<number | bigint>);
    const [out] = await pool.run([{ name: 'IN', datatype, shape: [2, 2], data }], ['OUT']);
    expect(out).toMatchObject({ name: 'OUT', datatype, shape: [2, 2] });
    expect(out!.data).toBeInstanceOf(type);
    expect(
      Array.isArray(out!.data) ? out!.data : Array.from(out!.data as ArrayLike<number | bigint>),
    ).toEqual(expected);
  });
});

describe('ModelInstancePool failures', () => {
  it('rejects a corrupt model file with MODEL_LOAD_FAILED naming the file', async () => {
    const path = await modelFile('corrupt.onnx', CORRUPT_MODEL);
    const created = ModelInstancePool.create({
      modelPath: path,
      count: 2,
      sessionOptions: testExecution(),
      logger: captureLogger().logger,
    });
    await expect(created).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    await expect(created).rejects.toThrow(path);
  });

  it('rejects a missing model file naming it', async () => {
    const path = join(dir, 'missing.onnx');
    await expect(
      ModelInstancePool.create({
        modelPath: path,
        count: 1,
        sessionOptions: testExecution(),
        logger: captureLogger().logger,
      }),
    ).rejects.toThrow(path);
  });

  it('fails the in-flight run when its worker crashes, then restarts the worker and serves again', async () => {
    const { logger, at } = captureLogger();
    const pool = await createPool({
      modelPath: await modelFile('add-crash.onnx', addOneModel()),
      workerUrl: CRASHING_WORKER_URL,
      logger,
    });
    const crashed = pool.run([fp32(CRASH_INPUT, [1, 3], [1, 2, 3])]);
    await expect(crashed).rejects.toMatchObject({
      code: 'INFERENCE_FAILED',
      message: expect.stringMatching(/crashed/),
    });
    // Runs sent while the replacement worker starts wait for it.
    const [out] = await pool.run([fp32('X', [1, 3], [1, 2, 3])]);
    expect(Array.from(out!.data as Float32Array)).toEqual([2, 3, 4]);
    expect(pool.stats).toMatchObject({ crashes: 1, restarts: 1, live: 1 });
    expect(at('warn').some((l) => /crashed/.test(l.msg))).toBe(true);
  });
});

describe('ModelInstancePool execution providers', () => {
  afterEach(() => resetCudaFallbackWarning());

  it('falls back to CPU when CUDA cannot load, with exactly one warn line for all instances', async () => {
    resetCudaFallbackWarning();
    const { logger, at } = captureLogger();
    const pool = await createPool({
      modelPath: await modelFile('add-cuda.onnx', addOneModel()),
      count: 2,
      sessionOptions: testExecution({ provider: 'cuda', deviceId: 0 }),
      logger,
    });
    expect(pool.provider).toBe('cpu');
    expect(pool.providers).toEqual(['cpu', 'cpu']);
    const warns = at('warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]!.msg).toMatch(/^CUDA execution provider unavailable \(.+\); falling back to CPU$/);

    // A second model in the same process does not warn again.
    await createPool({
      modelPath: await modelFile('add-cuda-2.onnx', addOneModel()),
      sessionOptions: testExecution({ provider: 'cuda' }),
      logger,
    });
    expect(at('warn')).toHaveLength(1);

    const [out] = await pool.run([fp32('X', [1, 3], [0, 0, 0])]);
    expect(Array.from(out!.data as Float32Array)).toEqual([1, 1, 1]);
  });

  it('does not log a fallback when CPU was asked for', async () => {
    const { logger, lines } = captureLogger();
    const pool = await createPool({ modelPath: await modelFile('add-cpu.onnx', addOneModel()), logger });
    expect(pool.provider).toBe('cpu');
    expect(lines.filter((l) => /CUDA/.test(l.msg))).toEqual([]);
  });
});

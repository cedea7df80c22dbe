import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ModelRuntime, RuntimeFactory } from '../../../origin/repository/load-version.ts';
import { ModelRepository } from '../../../origin/repository/repository.ts';
import {
  addOneModel,
  captureLogger,
  createTempRepo,
  identityModel,
  needsFiveModel,
  PADDLE_CLS_PATH,
  type TempRepo,
  testExecution,
} from '../../support/onnx-models.ts';

let temp: TempRepo;
let repos: Array<ModelRepository<ModelRuntime>> = [];

beforeEach(async () => {
  temp = await createTempRepo();
});

afterEach(async () => {
  await Promise.all(repos.map((r) => r.close()));
  repos = [];
  await temp.cleanup();
});

function createRepo<R extends ModelRuntime = ModelRuntime>(createRuntime?: RuntimeFactory<R>) {
  const log = captureLogger();
  const repo = new ModelRepository<R>({
    root: temp.root,
    execution: testExecution(),
    logger: log.logger,
    ...(createRuntime ? { createRuntime } : {}),
  });
  repos.push(repo as unknown as ModelRepository<ModelRuntime>);
  return { repo, log };
}

const x = (values: number[], shape = [1, 3]) => ({
  name: 'X',
  datatype: 'FP32' as const,
  shape,
  data: Float32Array.from(values),
});

async function catchError(fn: () => unknown): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected an error');
}

describe('ModelRepository.loadAll', () => {
  it('serves the good model and marks the corrupt one UNAVAILABLE with a reason naming its file', async () => {
    await temp.writeModel('good', 1, addOneModel());
    const badPath = await temp.writeCorruptModel('broken', 1);
    const { repo, log } = createRepo();

    const index = await repo.loadAll();

    expect(index).toEqual([
      { name: 'broken', version: '1', state: 'UNAVAILABLE', reason: expect.stringContaining(badPath) },
      { name: 'good', version: '1', state: 'READY', reason: '' },
    ]);
    expect(log.at('error').some((l) => l.msg.includes(badPath))).toBe(true);
    const [y] = await repo.get('good').pool.run([x([1, 2, 3])]);
    expect(Array.from(y!.data as Float32Array)).toEqual([2, 3, 4]);
    const err = await catchError(() => repo.get('broken'));
    expect(err).toMatchObject({ code: 'MODEL_NOT_READY', message: expect.stringContaining(badPath) });
  });

  it('marks a model with an invalid config.json UNAVAILABLE, naming the config file and the field', async () => {
    await temp.writeModel('typo', 1, addOneModel());
    const configPath = await temp.writeConfig('typo', { max_batch_size: 4, dynamic_batchin: {} });
    await temp.writeModel('fine', 1, addOneModel());
    const { repo } = createRepo();

    const index = await repo.loadAll();

    const typo = index.find((e) => e.name === 'typo');
    expect(typo).toMatchObject({ state: 'UNAVAILABLE' });
    expect(typo?.reason).toContain(configPath);
    expect(typo?.reason).toContain("'dynamic_batchin'");
    expect(index.find((e) => e.name === 'fine')?.state).toBe('READY');
  });

  it('reports invalid JSON and a missing model file clearly', async () => {
    await temp.writeModel('json', 1, addOneModel());
    await temp.writeConfig('json', '{ "max_batch_size": ');
    await mkdir(join(temp.root, 'nofile', '1'), { recursive: true });
    const { repo } = createRepo();

    const index = await repo.loadAll();

    expect(index.find((e) => e.name === 'json')?.reason).toMatch(/config\.json: not valid JSON/);
    expect(index.find((e) => e.name === 'nofile')?.reason).toMatch(/nofile\/1\/model\.onnx not found/);
  });
});

describe('ModelRepository inputs and outputs', () => {
  it('completes inputs and outputs from the ONNX file when there is no config.json', async () => {
    await temp.writeModel('plain', 1, identityModel('INT64', ['N', 4]));
    const { repo } = createRepo();
    await repo.load('plain');
    const { definition } = repo.get('plain');
    expect(definition).toMatchObject({
      name: 'plain',
      version: 1,
      maxBatchSize: 0,
      configPath: undefined,
      inputs: [{ name: 'IN', datatype: 'INT64', shape: [-1, 4] }],
      outputs: [{ name: 'OUT', datatype: 'INT64', shape: [-1, 4] }],
      dynamicBatchingEnabled: false,
      executionProvider: 'cpu',
      instanceCount: 1,
    });
  });

  it('keeps the leading -1 batch dimension when config.json sets max_batch_size without tensors', async () => {
    await temp.writeModel('batched', 1, addOneModel());
    await temp.writeConfig('batched', {
      max_batch_size: 8,
      dynamic_batching: { max_queue_delay_microseconds: 100 },
    });
    const { repo } = createRepo();
    await repo.load('batched');
    const { definition } = repo.get('batched');
    expect(definition.inputs).toEqual([{ name: 'X', datatype: 'FP32', shape: [-1, 3] }]);
    expect(definition.batching).toMatchObject({ maxBatchSize: 8, maxQueueDelayMicros: 100, concurrency: 1 });
  });

  it('loads the PaddleOCR classifier with its committed config', async () => {
    await mkdir(join(temp.root, 'ocr-cls', '1'), { recursive: true });
    await copyFile(PADDLE_CLS_PATH, join(temp.root, 'ocr-cls', '1', 'model.onnx'));
    await temp.writeConfig('ocr-cls', await readFile('scripts/models/configs/ocr-cls.json', 'utf8'));
    const { repo } = createRepo();
    await repo.load('ocr-cls');
    const { definition } = repo.get('ocr-cls');
    expect(definition.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, 192] }]);
    expect(definition.outputs).toEqual([{ name: 'softmax_0.tmp_0', datatype: 'FP32', shape: [-1, 2] }]);
    expect(definition.batching).toMatchObject({
      maxBatchSize: 32,
      preferredBatchSizes: [8, 16, 32],
      maxQueueSize: 1024,
    });
  });
});

describe('ModelRepository explicit load and unload', () => {
  it('serves a model only between load and unload', async () => {
    await temp.writeModel('m', 1, addOneModel());
    const { repo } = createRepo();
    await repo.scan();

    expect(await catchError(() => repo.get('m'))).toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: "model 'm' is not loaded",
    });
    await repo.load('m');
    expect(repo.isReady('m')).toBe(true);
    expect(repo.readyVersions('m')).toEqual([1]);
    const { pool } = repo.get('m');

    await repo.unload('m');
    expect(repo.isReady('m')).toBe(false);
    expect(await catchError(() => repo.get('m'))).toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(pool.stats.live).toBe(0);
    expect(await repo.index()).toEqual([
      { name: 'm', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
    ]);
  });

  it('reports unknown models and versions as MODEL_NOT_FOUND', async () => {
    await temp.writeModel('m', 1, addOneModel());
    const { repo } = createRepo();
    await repo.load('m');
    expect(await catchError(() => repo.get('nope'))).toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: "unknown model 'nope'",
    });
    expect(await catchError(() => repo.get('m', 3))).toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: "model 'm' has no version 3",
    });
    expect(await catchError(() => repo.get('m', 'abc'))).toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(await catchError(() => repo.load('nope'))).toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: "unknown model 'nope'",
    });
  });

  it('answers MODEL_NOT_READY while a version is loading, and drains the runtime before closing the pool', async () => {
    await temp.writeModel('m', 1, addOneModel());
    const events: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { repo } = createRepo(async ({ pool }) => {
      await gate;
      return {
        close: async () => {
          events.push(`runtime.close (pool live ${pool.stats.live})`);
        },
      };
    });
    const loading = repo.load('m');
    await new Promise((r) => setTimeout(r, 50));
    await expect
      .poll(() => catchError(() => repo.get('m')))
      .toMatchObject({ code: 'MODEL_NOT_READY', message: "model 'm' is loading" });
    release();
    await loading;
    const { pool } = repo.get('m');
    await repo.unload('m');
    events.push(`after unload (pool live ${pool.stats.live})`);
    expect(events).toEqual(['runtime.close (pool live 1)', 'after unload (pool live 0)']);
  });
});

describe('ModelRepository reload', () => {
  it('replaces a loaded model atomically: the new runtime is created before the old one closes', async () => {
    await temp.writeModel('m', 1, addOneModel());
    const events: string[] = [];
    let generation = 0;
    const { repo } = createRepo(() => {
      const g = ++generation;
      events.push(`create ${g}`);
      return {
        generation: g,
        close: async () => {
          events.push(`close ${g}`);
        },
      };
    });
    await repo.load('m');
    const first = repo.get('m');

    await repo.load('m');

    const second = repo.get('m');
    expect(second.runtime.generation).toBe(2);
    expect(second.pool).not.toBe(first.pool);
    expect(events).toEqual(['create 1', 'create 2', 'close 1']);
    expect(first.pool.stats.live).toBe(0);
    const [y] = await second.pool.run([x([0, 0, 0])]);
    expect(Array.from(y!.data as Float32Array)).toEqual([1, 1, 1]);
  });

  it('keeps the old version serving when a reload fails', async () => {
    const path = await temp.writeModel('m', 1, addOneModel());
    const { repo } = createRepo();
    await repo.load('m');
    const before = repo.get('m');
    await temp.writeCorruptModel('m', 1);

    const err = await catchError(() => repo.load('m'));

    expect(err).toMatchObject({ code: 'MODEL_LOAD_FAILED', message: expect.stringContaining(path) });
    expect(repo.get('m')).toBe(before);
    const [y] = await before.pool.run([x([1, 1, 1])]);
    expect(Array.from(y!.data as Float32Array)).toEqual([2, 2, 2]);
  });

  it('serves a new version after a reload and retires the old one under latest 1', async () => {
    await temp.writeModel('m', 1, addOneModel());
    const { repo } = createRepo();
    await repo.load('m');
    const v1 = repo.get('m');
    await temp.writeModel('m', 2, addOneModel());

    await repo.load('m');

    expect(repo.get('m').definition.version).toBe(2);
    expect(repo.readyVersions('m')).toEqual([2]);
    expect(v1.pool.stats.live).toBe(0);
    expect(await repo.index()).toEqual([
      { name: 'm', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
      { name: 'm', version: '2', state: 'READY', reason: '' },
    ]);
  });
});

describe('ModelRepository load with a config override (Triton parameters.config)', () => {
  it('loads with the given config instead of config.json, and reads the file again on the next plain load', async () => {
    await temp.writeModel('m', 1, addOneModel());
    await temp.writeConfig('m', { max_batch_size: 8 });
    const { repo } = createRepo();
    await repo.load('m', { config: { max_batch_size: 2, instance_group: [{ count: 2, kind: 'KIND_CPU' }] } });
    const overridden = repo.get('m');
    expect(overridden.definition.maxBatchSize).toBe(2);
    expect(overridden.pool.size).toBe(2);
    await repo.load('m');
    expect(repo.get('m').definition.maxBatchSize).toBe(8);
    expect(repo.get('m').pool.size).toBe(1);
  });

  it('refuses an invalid override naming the parameter, and the loaded version keeps serving', async () => {
    await temp.writeModel('m', 1, addOneModel());
    const { repo } = createRepo();
    await repo.load('m');
    const before = repo.get('m');
    const err = await catchError(() => repo.load('m', { config: { max_batch_size: 'lots' } }));
    expect(err).toMatchObject({
      code: 'MODEL_LOAD_FAILED',
      message: expect.stringContaining("the load request's 'config' parameter for 'm'"),
    });
    expect(await catchError(() => repo.load('m', { config: { name: 'other' } }))).toMatchObject({
      code: 'MODEL_LOAD_FAILED',
      message: expect.stringContaining("name 'other' does not match the model 'm'"),
    });
    expect(repo.get('m')).toBe(before);
  });
});

describe('ModelRepository model names', () => {
  it('refuses names that are not one directory of the repository before touching the file system', async () => {
    await temp.writeModel('m', 1, addOneModel());
    const { repo } = createRepo();
    for (const name of ['..', '.', '', '../m', 'a/b', 'a\\b', 'm\u0000']) {
      expect(await catchError(() => repo.load(name)), JSON.stringify(name)).toMatchObject({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining('is not a model name'),
      });
      expect(await catchError(() => repo.unload(name))).toMatchObject({ code: 'INVALID_REQUEST' });
    }
    expect((await repo.index()).map((row) => row.name)).toEqual(['m']);
  });
});

describe('ModelRepository versions', () => {
  beforeEach(async () => {
    for (const v of [1, 2, 3]) await temp.writeModel('m', v, addOneModel());
  });

  it('loads only the highest version by default and serves it for requests without a version', async () => {
    const { repo } = createRepo();
    await repo.load('m');
    expect(repo.readyVersions('m')).toEqual([3]);
    expect(repo.get('m').definition.version).toBe(3);
    expect(repo.get('m', '3').definition.version).toBe(3);
    expect(await catchError(() => repo.get('m', 1))).toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('latest 2 loads the two highest versions; each is addressable', async () => {
    await temp.writeConfig('m', { version_policy: { latest: { num_versions: 2 } } });
    const { repo } = createRepo();
    await repo.load('m');
    expect(repo.readyVersions('m')).toEqual([2, 3]);
    expect(repo.get('m', 2).definition.version).toBe(2);
    expect(repo.get('m').definition.version).toBe(3);
  });

  it('all loads every version; specific loads the listed ones', async () => {
    await temp.writeConfig('m', { version_policy: { all: {} } });
    const { repo } = createRepo();
    await repo.load('m');
    expect(repo.readyVersions('m')).toEqual([1, 2, 3]);

    await temp.writeConfig('m', { version_policy: { specific: { versions: [1] } } });
    await repo.load('m');
    expect(repo.readyVersions('m')).toEqual([1]);
    expect(repo.get('m').definition.version).toBe(1);
  });

  it('ignores directories that are not positive integers', async () => {
    await mkdir(join(temp.root, 'm', '0'), { recursive: true });
    await mkdir(join(temp.root, 'm', 'latest'), { recursive: true });
    const { repo } = createRepo();
    expect(await repo.scan()).toEqual([{ name: 'm', dir: join(temp.root, 'm'), versions: [1, 2, 3] }]);
  });

  it('serves the versions that loaded when a sibling version fails on first load', async () => {
    await temp.writeConfig('m', { version_policy: { all: {} } });
    const bad = await temp.writeCorruptModel('m', 3);
    const { repo } = createRepo();
    await expect(repo.load('m')).rejects.toThrow(bad);
    expect(repo.readyVersions('m')).toEqual([1, 2]);
    expect(repo.get('m').definition.version).toBe(2);
    expect(await catchError(() => repo.get('m', 3))).toMatchObject({ code: 'MODEL_NOT_READY' });
  });
});

describe('ModelRepository warm-up', () => {
  it('runs every model_warmup sample on every instance before the model is READY', async () => {
    await temp.writeModel('m', 1, addOneModel());
    await temp.writeConfig('m', {
      max_batch_size: 4,
      instance_group: [{ count: 2, kind: 'KIND_CPU' }],
      model_warmup: [
        {
          name: 'zeros',
          batch_size: 4,
          count: 3,
          inputs: { X: { data_type: 'TYPE_FP32', dims: [3], zero_data: true } },
        },
        { name: 'random', inputs: { X: { data_type: 'TYPE_FP32', dims: [3], random_data: true } } },
      ],
    });
    const seen: Array<{ runs: number; ready: boolean }> = [];
    const { repo } = createRepo(({ pool }) => {
      seen.push({ runs: pool.stats.completedRuns, ready: repo.isReady('m') });
      return { close: async () => {} };
    });
    await repo.load('m');
    expect(seen).toEqual([{ runs: (3 + 1) * 2, ready: false }]);
    expect(repo.get('m').definition.instanceCount).toBe(2);
  });

  it('warms up with one zero sample when no model_warmup is configured', async () => {
    await temp.writeModel('m', 1, addOneModel());
    let runs = -1;
    const { repo } = createRepo(({ pool }) => {
      runs = pool.stats.completedRuns;
      return { close: async () => {} };
    });
    await repo.load('m');
    expect(runs).toBe(1);
  });

  it('still serves a model whose default warm-up fails, with a warning pointing at model_warmup', async () => {
    await temp.writeModel('five', 1, needsFiveModel());
    const { repo, log } = createRepo();
    await repo.load('five');
    expect(repo.isReady('five')).toBe(true);
    expect(log.at('warn').some((l) => /default warm-up .* failed.*model_warmup/.test(l.msg))).toBe(true);
    const [y] = await repo.get('five').pool.run([x([0, 0, 0, 0, 0], [1, 5])]);
    expect(Array.from(y!.data as Float32Array)).toEqual([1, 2, 3, 4, 5]);
  });

  it('fails the load when a configured warm-up sample fails', async () => {
    await temp.writeModel('five', 1, needsFiveModel());
    await temp.writeConfig('five', {
      model_warmup: [
        { name: 'wrong', inputs: { X: { data_type: 'TYPE_FP32', dims: [1, 7], zero_data: true } } },
      ],
    });
    const { repo } = createRepo();
    const err = await catchError(() => repo.load('five'));
    expect(err).toMatchObject({
      code: 'MODEL_LOAD_FAILED',
      message: expect.stringMatching(/warm-up sample 'wrong' failed/),
    });
    expect((await repo.index())[0]).toMatchObject({ state: 'UNAVAILABLE' });
  });

  it('fails the load when a warm-up sample does not match the inputs', async () => {
    await temp.writeModel('m', 1, addOneModel());
    await temp.writeConfig('m', {
      max_batch_size: 2,
      model_warmup: [{ name: 'w', inputs: { X: { data_type: 'TYPE_FP32', dims: [4], zero_data: true } } }],
    });
    const { repo } = createRepo();
    await expect(repo.load('m')).rejects.toThrow(/dimension 0 is 4 but the model needs 3/);
  });
});

describe('ModelRepository shutdown', () => {
  it('close() unloads every model and closes every pool', async () => {
    await temp.writeModel('a', 1, addOneModel());
    await temp.writeModel('b', 1, addOneModel());
    const { repo } = createRepo();
    await repo.loadAll();
    const pools = repo.loaded().map((m) => m.pool);
    expect(pools).toHaveLength(2);
    await repo.close();
    expect(pools.map((p) => p.stats.live)).toEqual([0, 0]);
    expect(repo.loaded()).toEqual([]);
  });
});

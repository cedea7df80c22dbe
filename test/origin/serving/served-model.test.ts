import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedInferRequest } from '../../../origin/protocol/decode-request.ts';
import type { ModelDefinition } from '../../../origin/repository/definition.ts';
import { ModelInstancePool } from '../../../origin/runtime/instance-pool.ts';
import { ServedModel } from '../../../origin/serving/served-model.ts';
import { systemClock } from '../../../shared/clock.ts';
import { captureLogger, lookupModel, testExecution } from '../../support/onnx-models.ts';

let dir: string;
let pool: ModelInstancePool;
const runs: number[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aiserve-served-'));
  const modelPath = join(dir, 'lookup.onnx');
  await writeFile(modelPath, lookupModel());
  pool = await ModelInstancePool.create({
    modelPath,
    count: 1,
    sessionOptions: testExecution(),
    logger: captureLogger().logger,
    label: 'lookup:1',
  });
});

afterAll(async () => {
  await pool?.close();
  await rm(dir, { recursive: true, force: true });
});

const DEFINITION: ModelDefinition = {
  name: 'lookup',
  version: 1,
  path: 'lookup.onnx',
  configPath: undefined,
  platform: 'onnxruntime_onnx',
  maxBatchSize: 8,
  inputs: [{ name: 'I', datatype: 'INT64', shape: [-1, 1] }],
  outputs: [{ name: 'Y', datatype: 'FP32', shape: [-1, 1] }],
  // Three requests sent together form one batch: the preferred size is reached before the delay ends.
  batching: {
    maxBatchSize: 8,
    preferredBatchSizes: [3],
    maxQueueDelayMicros: 200_000,
    maxQueueSize: 0,
    defaultTimeoutMicros: 0,
    priorityLevels: 0,
    defaultPriorityLevel: 0,
    concurrency: 1,
  },
  dynamicBatchingEnabled: true,
  allowTimeoutOverride: false,
  instanceCount: 1,
  instanceKind: 'KIND_AUTO',
  executionProvider: 'cpu',
  warmup: [],
  parameters: {},
};

function lookup(index: number): DecodedInferRequest {
  return {
    parameters: {},
    inputs: [{ name: 'I', datatype: 'INT64', shape: [1, 1], data: BigInt64Array.from([BigInt(index)]) }],
    binaryOutputDefault: false,
  };
}

function servedWithRunCount(): ServedModel {
  return new ServedModel(
    DEFINITION,
    {
      run: (inputs, outputNames) => {
        runs.push(inputs[0]!.shape[0]!);
        return pool.run(inputs, outputNames);
      },
    },
    { clock: systemClock },
  );
}

describe('ServedModel with a model that fails on some values', () => {
  it('fails only the request the model cannot run on when it shares a batch, and answers the others', async () => {
    runs.length = 0;
    const served = servedWithRunCount();
    const [good, bad, other] = await Promise.allSettled([
      served.infer(lookup(0)),
      served.infer(lookup(7)),
      served.infer(lookup(-1)),
    ]);
    // One batch of 3 failed; each request then ran alone.
    expect(runs).toEqual([3, 1, 1, 1]);
    expect(good).toMatchObject({ status: 'fulfilled' });
    expect(
      Array.from((good as PromiseFulfilledResult<Array<{ data: Float32Array }>>).value[0]!.data),
    ).toEqual([10]);
    expect(
      Array.from((other as PromiseFulfilledResult<Array<{ data: Float32Array }>>).value[0]!.data),
    ).toEqual([30]);
    expect(bad).toMatchObject({
      status: 'rejected',
      reason: { code: 'INVALID_INPUT', status: 400, message: expect.stringContaining('idx=7') },
    });
    await served.close();
  });

  it('runs a batch once when every request in it is fine', async () => {
    runs.length = 0;
    const served = servedWithRunCount();
    const results = await Promise.all([
      served.infer(lookup(0)),
      served.infer(lookup(1)),
      served.infer(lookup(2)),
    ]);
    expect(runs).toEqual([3]);
    expect(results.map((r) => Array.from(r[0]!.data as Float32Array))).toEqual([[10], [20], [30]]);
    await served.close();
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../../../origin/repository/config/model-config.ts';

const FILE = '/repo/m/config.json';

function parse(json: unknown) {
  return parseModelConfig(json, FILE);
}

function parseError(json: unknown): string {
  try {
    parse(json);
  } catch (err) {
    expect(err).toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}
describe('parseModelConfig', () => {
  it("applies Triton's defaults when there is no config.json", () => {
    expect(parse(undefined)).toEqual({
      name: undefined,
      maxBatchSize: 0,
      inputs: undefined,
      outputs: undefined,
      dynamicBatching: undefined,
      instanceGroups: [{ count: 1, kind: 'KIND_AUTO', gpus: undefined }],
      versionPolicy: { kind: 'latest', numVersions: 1 },
      warmup: undefined,
      parameters: {},
      defaultModelFilename: 'model.onnx',
      warnings: [],
    });
  });

  it('reads a full Triton config with its field names and TYPE_ datatypes', () => {
    const config = parse({
      name: 'm',
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, -1, -1], format: 'FORMAT_NCHW' }],
      output: [{ name: 'y', data_type: 'TYPE_STRING', dims: [1] }],
      dynamic_batching: {
        preferred_batch_size: [8, 4, 4],
        max_queue_delay_microseconds: 500,
        priority_levels: 3,
        default_priority_level: 2,
        default_queue_policy: {
          max_queue_size: 64,
          default_timeout_microseconds: 100000,
          timeout_action: 'REJECT',
          allow_timeout_override: true,
        },
      },
      instance_group: [{ count: 2, kind: 'KIND_GPU', gpus: [0, 1] }],
      version_policy: { all: {} },
      model_warmup: [
        {
          name: 'w',
          batch_size: 2,
          count: 3,
          inputs: { x: { data_type: 'TYPE_FP32', dims: [3, 8, 8], random_data: true } },
        },
      ],
      parameters: { mode: { string_value: 'fast' } },
    });
    expect(config).toMatchObject({
      name: 'm',
      maxBatchSize: 8,
      inputs: [{ name: 'x', datatype: 'FP32', dims: [3, -1, -1] }],
      outputs: [{ name: 'y', datatype: 'BYTES', dims: [1] }],
      dynamicBatching: {
        preferredBatchSizes: [4, 8],
        maxQueueDelayMicros: 500,
        maxQueueSize: 64,
        defaultTimeoutMicros: 100000,
        priorityLevels: 3,
        defaultPriorityLevel: 2,
        allowTimeoutOverride: true,
      },
      instanceGroups: [{ count: 2, kind: 'KIND_GPU', gpus: [0, 1] }],
      versionPolicy: { kind: 'all' },
      warmup: [
        {
          name: 'w',
          batchSize: 2,
          count: 3,
          inputs: { x: { datatype: 'FP32', dims: [3, 8, 8], data: 'random' } },
        },
      ],
      parameters: { mode: 'fast' },
    });
  });

  it('accepts integers written as strings, as protobuf JSON writes int64 fields', () => {
    const config = parse({
      max_batch_size: '16',
      input: [{ name: 'x', data_type: 'TYPE_INT64', dims: ['4', '-1'] }],
      dynamic_batching: { max_queue_delay_microseconds: '100', preferred_batch_size: ['8'] },
      instance_group: [{ count: '3' }],
      version_policy: { latest: { num_versions: '2' } },
    });
    expect(config.maxBatchSize).toBe(16);
    expect(config.inputs?.[0]?.dims).toEqual([4, -1]);
    expect(config.dynamicBatching).toMatchObject({ maxQueueDelayMicros: 100, preferredBatchSizes: [8] });
    expect(config.instanceGroups[0]?.count).toBe(3);
    expect(config.versionPolicy).toEqual({ kind: 'latest', numVersions: 2 });
  });

  it('rejects non-numeric strings where integers belong', () => {
    expect(parseError({ max_batch_size: '8x' })).toMatch(/max_batch_size/);
  });

  it('rejects an unknown top-level field, naming it and the file', () => {
    const message = parseError({ max_batch_size: 4, max_batch_sizes: 8 });
    expect(message).toContain(FILE);
    expect(message).toContain("unknown field 'max_batch_sizes'");
  });

  it('rejects an unknown nested field with its path', () => {
    expect(
      parseError({ max_batch_size: 4, dynamic_batching: { max_queue_dely_microseconds: 10 } }),
    ).toContain("unknown field 'dynamic_batching.max_queue_dely_microseconds'");
    expect(parseError({ input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [1], shape: [1] }] })).toContain(
      "'input.0.shape'",
    );
  });

  it('accepts max_queue_size and default_timeout_microseconds directly under dynamic_batching', () => {
    const config = parse({
      max_batch_size: 4,
      dynamic_batching: { max_queue_size: '10', default_timeout_microseconds: 2000 },
    });
    expect(config.dynamicBatching).toMatchObject({ maxQueueSize: 10, defaultTimeoutMicros: 2000 });
  });

  it('rejects flat and default_queue_policy values that disagree', () => {
    expect(
      parseError({
        max_batch_size: 4,
        dynamic_batching: { max_queue_size: 10, default_queue_policy: { max_queue_size: 20 } },
      }),
    ).toMatch(/max_queue_size \(10\) conflicts/);
  });

  it('requires max_batch_size > 0 for dynamic_batching', () => {
    expect(parseError({ dynamic_batching: {} })).toMatch(/dynamic_batching requires max_batch_size > 0/);
  });

  it('rejects preferred batch sizes above max_batch_size and a default priority above the levels', () => {
    expect(parseError({ max_batch_size: 4, dynamic_batching: { preferred_batch_size: [8] } })).toMatch(
      /preferred_batch_size 8 exceeds max_batch_size 4/,
    );
    expect(
      parseError({ max_batch_size: 4, dynamic_batching: { priority_levels: 2, default_priority_level: 3 } }),
    ).toMatch(/default_priority_level 3/);
  });

  it('rejects timeout_action DELAY and warns that priority_queue_policy is not applied per level', () => {
    expect(
      parseError({
        max_batch_size: 4,
        dynamic_batching: { default_queue_policy: { timeout_action: 'DELAY' } },
      }),
    ).toMatch(/DELAY is not supported/);
    const config = parse({
      max_batch_size: 4,
      dynamic_batching: { priority_levels: 2, priority_queue_policy: { '1': { max_queue_size: 5 } } },
    });
    expect(config.warnings).toEqual([expect.stringMatching(/priority_queue_policy is not applied/)]);
  });

  it('rejects BF16 and unknown data types with a clear message', () => {
    expect(parseError({ input: [{ name: 'x', data_type: 'TYPE_BF16', dims: [1] }] })).toMatch(
      /TYPE_BF16 is not supported/,
    );
    expect(parseError({ input: [{ name: 'x', data_type: 'FP32', dims: [1] }] })).toMatch(
      /unknown data_type 'FP32'/,
    );
  });

  it('rejects a platform or backend other than onnxruntime', () => {
    expect(parseError({ platform: 'tensorrt_plan' })).toMatch(/platform/);
    expect(parseError({ backend: 'python' })).toMatch(/backend/);
  });

  it('rejects duplicate tensor names and mixed instance kinds', () => {
    expect(
      parseError({
        input: [
          { name: 'x', data_type: 'TYPE_FP32', dims: [1] },
          { name: 'x', data_type: 'TYPE_FP32', dims: [1] },
        ],
      }),
    ).toMatch(/input 'x' is listed twice/);
    expect(parseError({ instance_group: [{ kind: 'KIND_CPU' }, { kind: 'KIND_GPU' }] })).toMatch(
      /mixes kinds/,
    );
  });

  it('parses the three version policies and rejects zero or several', () => {
    expect(parse({ version_policy: { latest: { num_versions: 3 } } }).versionPolicy).toEqual({
      kind: 'latest',
      numVersions: 3,
    });
    expect(parse({ version_policy: { all: {} } }).versionPolicy).toEqual({ kind: 'all' });
    expect(parse({ version_policy: { specific: { versions: [3, 1] } } }).versionPolicy).toEqual({
      kind: 'specific',
      versions: [1, 3],
    });
    expect(parseError({ version_policy: {} })).toMatch(/exactly one of latest, all, specific/);
    expect(parseError({ version_policy: { all: {}, latest: {} } })).toMatch(/exactly one/);
  });

  it('requires warm-up inputs to say zero_data or random_data, and a batch size within max_batch_size', () => {
    expect(
      parseError({ model_warmup: [{ name: 'w', inputs: { x: { data_type: 'TYPE_FP32', dims: [1] } } }] }),
    ).toMatch(/zero_data, random_data/);
    expect(
      parseError({
        max_batch_size: 2,
        model_warmup: [
          { name: 'w', batch_size: 4, inputs: { x: { data_type: 'TYPE_FP32', dims: [1], zero_data: true } } },
        ],
      }),
    ).toMatch(/batch_size must be in 1..max_batch_size \(2\)/);
  });

  it('accepts the committed PaddleOCR configs', () => {
    for (const name of ['ocr-cls', 'ocr-det']) {
      const json = JSON.parse(readFileSync(`scripts/models/configs/${name}.json`, 'utf8'));
      expect(parse(json).name).toBe(name);
    }
  });
});

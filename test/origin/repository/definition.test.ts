import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../../origin/repository/config/model-config.ts';
import { buildModelDefinition } from '../../../origin/repository/definition.ts';
import type { ModelIO } from '../../../origin/runtime/instance-pool.ts';

const IO: ModelIO = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, -1, -1] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
};

function build(config: unknown, io: ModelIO = IO) {
  return buildModelDefinition({
    name: 'm',
    version: 1,
    modelPath: '/repo/m/1/model.onnx',
    configPath: '/repo/m/config.json',
    config: parseModelConfig(config, '/repo/m/config.json'),
    io,
    executionProvider: 'cpu',
    instanceCount: 2,
  });
}
describe('buildModelDefinition', () => {
  it('takes inputs and outputs from the model when config.json lists none', () => {
    const def = build({ max_batch_size: 8 });
    expect(def.inputs).toEqual(IO.inputs);
    expect(def.outputs).toEqual(IO.outputs);
  });

  it('refines dynamic model dimensions with config dims and adds the batch dimension', () => {
    const def = build({
      max_batch_size: 8,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, 48, 192] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [-1] }],
    });
    expect(def.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, 192] }]);
    expect(def.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [-1, 2] }]);
  });

  it('uses config dims as the full shape when the model does not batch', () => {
    const def = build({ input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [1, 3, 48, 192] }] });
    expect(def.maxBatchSize).toBe(0);
    expect(def.inputs[0]?.shape).toEqual([1, 3, 48, 192]);
  });

  it('rejects config tensors that disagree with the model, naming the file', () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { input: [{ name: 'z', data_type: 'TYPE_FP32', dims: [1] }] },
        /input 'z' is not in the model \(the model's inputs: x\)/,
      ],
      [
        { max_batch_size: 2, input: [{ name: 'x', data_type: 'TYPE_INT32', dims: [3, -1, -1] }] },
        /is INT32 in config.json but FP32/,
      ],
      [
        { max_batch_size: 2, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [-1, -1, 3, -1] }] },
        /exclude the batch dimension/,
      ],
      [
        { max_batch_size: 2, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4, -1, -1] }] },
        /dimension 0 is 4 in config.json but 3/,
      ],
      [
        { max_batch_size: 2, output: [{ name: 'q', data_type: 'TYPE_FP32', dims: [2] }] },
        /output 'q' is not in the model/,
      ],
    ];
    for (const [config, pattern] of cases) {
      expect(() => build(config)).toThrow(pattern);
      expect(() => build(config)).toThrow('/repo/m/1/model.onnx');
    }
  });

  it('requires every model input to be listed when config.json lists inputs', () => {
    const io: ModelIO = { ...IO, inputs: [...IO.inputs, { name: 'mask', datatype: 'BOOL', shape: [-1, 4] }] };
    expect(() =>
      build({ max_batch_size: 2, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, -1, -1] }] }, io),
    ).toThrow(/model input mask missing from config.json/);
  });

  it('refuses max_batch_size > 0 when the model has a fixed first dimension', () => {
    const io: ModelIO = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }], outputs: [] };
    expect(() => build({ max_batch_size: 4 }, io)).toThrow(
      /fixed first dimension 1 .* set max_batch_size to 0/,
    );
  });

  it('maps dynamic_batching to the batcher config with the instance count as concurrency', () => {
    const def = build({
      max_batch_size: 32,
      dynamic_batching: {
        preferred_batch_size: [8, 16],
        max_queue_delay_microseconds: 2000,
        max_queue_size: 1024,
        default_timeout_microseconds: 5000,
        priority_levels: 2,
        default_priority_level: 1,
      },
    });
    expect(def.dynamicBatchingEnabled).toBe(true);
    expect(def.batching).toEqual({
      maxBatchSize: 32,
      preferredBatchSizes: [8, 16],
      maxQueueDelayMicros: 2000,
      maxQueueSize: 1024,
      defaultTimeoutMicros: 5000,
      priorityLevels: 2,
      defaultPriorityLevel: 1,
      concurrency: 2,
    });
  });

  it('without dynamic_batching, each request runs alone even when the model batches', () => {
    const def = build({ max_batch_size: 8 });
    expect(def.maxBatchSize).toBe(8);
    expect(def.dynamicBatchingEnabled).toBe(false);
    expect(def.batching).toEqual({
      maxBatchSize: 0,
      preferredBatchSizes: [],
      maxQueueDelayMicros: 0,
      maxQueueSize: 0,
      defaultTimeoutMicros: 0,
      priorityLevels: 0,
      defaultPriorityLevel: 0,
      concurrency: 2,
    });
  });
});

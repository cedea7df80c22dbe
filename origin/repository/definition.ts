import { AppError } from '../../shared/errors/index.ts';
import type { BatchingConfig } from '../batching/compile-policy.ts';
import type { TensorSpec } from '../protocol/tensor.ts';
import type { ExecutionProviderName, InstanceKind } from '../runtime/execution-provider.ts';
import type { ModelIO } from '../runtime/instance-pool.ts';
import type { ConfigTensor, ModelConfig, WarmupSample } from './config/model-config.ts';

/**
 * One model version as the origin serves it, config.json completed from the ONNX file: what requests are
 * validated against, what the batcher is configured with, and what `GET /v2/models/{m}` shows.
 */
export interface ModelDefinition {
  name: string;
  version: number;
  /** Absolute path of the ONNX file. */
  path: string;
  /** The config.json path, or undefined when the model has none (everything then comes from the ONNX file). */
  configPath: string | undefined;
  platform: 'onnxruntime_onnx';
  /** From config.json (0 = the model has no batch dimension). Requests may not exceed it when > 0. */
  maxBatchSize: number;
  /** FULL shapes: a leading -1 batch dimension when maxBatchSize > 0; -1 for any dynamic dimension. */
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /**
   * False without a `dynamic_batching` block: each request runs alone, and `batching` is then the no-merging
   * config (maxBatchSize 0, no delay, no preferred sizes) even when `maxBatchSize` > 0.
   */
  dynamicBatchingEnabled: boolean;
  batching: BatchingConfig;
  /** Whether a request may shorten the default queue timeout (Triton `allow_timeout_override`). */
  allowTimeoutOverride: boolean;
  instanceCount: number;
  instanceKind: InstanceKind;
  /** The provider the sessions actually run on ('cpu' after a CUDA fallback). */
  executionProvider: ExecutionProviderName;
  /** The configured model_warmup samples; empty when none were configured (a default warm-up then runs). */
  warmup: WarmupSample[];
  parameters: Record<string, string>;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * Completes or checks the config's tensors against the model. Absent in config → the model's (batch dimension
 * included as -1). Present → each must exist in the model with the same datatype and rank; fixed dimensions
 * must agree, and a config dimension refines a dynamic model dimension.
 */
function completeTensors(
  kind: 'input' | 'output',
  declared: ConfigTensor[] | undefined,
  model: readonly TensorSpec[],
  maxBatchSize: number,
  fail: (message: string) => never,
): TensorSpec[] {
  const batching = maxBatchSize > 0;
  const checkBatchDim = (spec: TensorSpec): void => {
    if (!batching) return;
    const first = spec.shape[0];
    if (first === undefined) {
      fail(
        `${kind} '${spec.name}' is a scalar in the model, so it has no batch dimension; set max_batch_size to 0`,
      );
    }
    if (first !== -1) {
      fail(
        `${kind} '${spec.name}' has a fixed first dimension ${first} in the model ${fmt(spec.shape)}, so it cannot batch; set max_batch_size to 0`,
      );
    }
  };
  if (!declared) {
    return model.map((spec) => {
      checkBatchDim(spec);
      return { name: spec.name, datatype: spec.datatype, shape: [...spec.shape] };
    });
  }
  const byName = new Map(model.map((s) => [s.name, s]));
  const result = declared.map((t): TensorSpec => {
    const spec = byName.get(t.name);
    if (!spec) {
      fail(
        `${kind} '${t.name}' is not in the model (the model's ${kind}s: ${model.map((s) => s.name).join(', ') || 'none'})`,
      );
    }
    if (spec.datatype !== t.datatype) {
      fail(`${kind} '${t.name}' is ${t.datatype} in config.json but ${spec.datatype} in the model`);
    }
    checkBatchDim(spec);
    const modelDims = batching ? spec.shape.slice(1) : spec.shape;
    if (modelDims.length !== t.dims.length) {
      fail(
        `${kind} '${t.name}' has dims ${fmt(t.dims)} in config.json but the model's shape is ${fmt(spec.shape)}` +
          (batching ? ' (config dims exclude the batch dimension)' : ''),
      );
    }
    const dims = t.dims.map((d, i) => {
      const m = modelDims[i]!;
      if (d !== -1 && m !== -1 && d !== m) {
        fail(
          `${kind} '${t.name}' dimension ${i} is ${d} in config.json but ${m} in the model ${fmt(spec.shape)}`,
        );
      }
      return d === -1 ? m : d;
    });
    return { name: t.name, datatype: t.datatype, shape: batching ? [-1, ...dims] : dims };
  });
  if (kind === 'input') {
    const listed = new Set(declared.map((t) => t.name));
    const missing = model.filter((s) => !listed.has(s.name)).map((s) => s.name);
    if (missing.length > 0)
      fail(`model input${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing from config.json`);
  }
  return result;
}

export interface BuildDefinitionOptions {
  name: string;
  version: number;
  modelPath: string;
  configPath: string | undefined;
  config: ModelConfig;
  io: ModelIO;
  executionProvider: ExecutionProviderName;
  instanceCount: number;
}

/** Throws AppError MODEL_LOAD_FAILED naming the model file when config.json and the model disagree. */
export function buildModelDefinition(o: BuildDefinitionOptions): ModelDefinition {
  const { config } = o;
  const fail = (message: string): never => {
    throw new AppError(
      'MODEL_LOAD_FAILED',
      `model '${o.name}' version ${o.version} (${o.modelPath}${o.configPath ? `, ${o.configPath}` : ''}): ${message}`,
    );
  };
  const inputs = completeTensors('input', config.inputs, o.io.inputs, config.maxBatchSize, fail);
  const outputs = completeTensors('output', config.outputs, o.io.outputs, config.maxBatchSize, fail);
  const db = config.dynamicBatching;
  const batching: BatchingConfig = db
    ? {
        maxBatchSize: config.maxBatchSize,
        preferredBatchSizes: [...db.preferredBatchSizes],
        maxQueueDelayMicros: db.maxQueueDelayMicros,
        maxQueueSize: db.maxQueueSize,
        defaultTimeoutMicros: db.defaultTimeoutMicros,
        priorityLevels: db.priorityLevels,
        defaultPriorityLevel: db.defaultPriorityLevel,
        concurrency: o.instanceCount,
      }
    : {
        maxBatchSize: 0,
        preferredBatchSizes: [],
        maxQueueDelayMicros: 0,
        maxQueueSize: 0,
        defaultTimeoutMicros: 0,
        priorityLevels: 0,
        defaultPriorityLevel: 0,
        concurrency: o.instanceCount,
      };
  return {
    name: o.name,
    version: o.version,
    path: o.modelPath,
    configPath: o.configPath,
    platform: 'onnxruntime_onnx',
    maxBatchSize: config.maxBatchSize,
    inputs,
    outputs,
    dynamicBatchingEnabled: db !== undefined,
    batching,
    allowTimeoutOverride: db?.allowTimeoutOverride ?? true,
    instanceCount: o.instanceCount,
    instanceKind: config.instanceGroups[0]?.kind ?? 'KIND_AUTO',
    executionProvider: o.executionProvider,
    warmup: config.warmup ?? [],
    parameters: { ...config.parameters },
  };
}

import { AppError } from '../../shared/errors/index.ts';
import type { Datatype } from '../../shared/protocol/datatypes.ts';
import { floatToHalf } from '../../shared/protocol/fp16.ts';
import { elementCount, type Tensor, type TensorData } from '../protocol/tensor.ts';
import { allocateTensorData } from '../protocol/typed-arrays.ts';
import type { RuntimeLogger } from '../runtime/execution-provider.ts';
import type { ModelInstancePool } from '../runtime/instance-pool.ts';
import type { WarmupSample } from './config/model-config.ts';
import type { ModelDefinition } from './definition.ts';

/**
 * Warm-up before a model version is marked READY: onnxruntime allocates its arenas and picks kernels on the first
 * runs, so the first client requests would otherwise pay for it. Every sample runs `count` times on EVERY
 * instance.
 *
 * - With `model_warmup` in config.json, those samples run and a failure fails the load (as in Triton).
 * - Without it, one zero-filled sample runs: batch 1 when the model batches, and each dynamic non-batch dimension
 *   set to DEFAULT_WARMUP_DIM. A model that needs specific sizes may reject that sample; this only logs a warning
 *   (the model is still marked READY) — configure `model_warmup` to warm such a model up.
 */

const DEFAULT_WARMUP_DIM = 32;

export interface WarmupResult {
  /** Runs executed, all instances together. */
  runs: number;
  /** True when the default sample ran (no model_warmup configured). */
  usedDefault: boolean;
  /** The default sample's failure, when it failed (the model is still usable). */
  defaultFailure?: string;
}

/** The zero-filled sample used when no model_warmup is configured. */
function defaultWarmupSample(def: ModelDefinition): WarmupSample {
  const batching = def.maxBatchSize > 0;
  const inputs: WarmupSample['inputs'] = {};
  for (const spec of def.inputs) {
    const dims = (batching ? spec.shape.slice(1) : spec.shape).map((d) =>
      d === -1 ? DEFAULT_WARMUP_DIM : d,
    );
    inputs[spec.name] = { datatype: spec.datatype, dims, data: 'zero' };
  }
  return { name: 'default', batchSize: batching ? 1 : 0, count: 1, inputs };
}

function randomData(datatype: Datatype, length: number): TensorData {
  const data = allocateTensorData(datatype, length);
  switch (datatype) {
    case 'BYTES': {
      const s = data as string[];
      for (let i = 0; i < length; i++) s[i] = Math.random().toString(36).slice(2, 10);
      return s;
    }
    case 'BOOL': {
      const b = data as Uint8Array;
      for (let i = 0; i < length; i++) b[i] = Math.random() < 0.5 ? 1 : 0;
      return b;
    }
    case 'FP16': {
      const h = data as Uint16Array;
      for (let i = 0; i < length; i++) h[i] = floatToHalf(Math.random());
      return h;
    }
    case 'FP32':
    case 'FP64': {
      const f = data as Float32Array | Float64Array;
      for (let i = 0; i < length; i++) f[i] = Math.random();
      return f;
    }
    case 'INT64':
    case 'UINT64': {
      const big = data as BigInt64Array | BigUint64Array;
      for (let i = 0; i < length; i++) big[i] = BigInt(Math.floor(Math.random() * 128));
      return big;
    }
    default: {
      // Small non-negative integers are valid for every integer type.
      const n = data as Uint8Array;
      for (let i = 0; i < length; i++) n[i] = Math.floor(Math.random() * 128);
      return n;
    }
  }
}

/** Checks a configured sample against the model's inputs; returns an error message or null. */
function checkSample(def: ModelDefinition, sample: WarmupSample): string | null {
  const batching = def.maxBatchSize > 0;
  for (const spec of def.inputs) {
    const input = sample.inputs[spec.name];
    if (!input) return `model_warmup '${sample.name}' gives no data for input '${spec.name}'`;
    if (input.datatype !== spec.datatype) {
      return `model_warmup '${sample.name}' input '${spec.name}' is ${input.datatype} but the model takes ${spec.datatype}`;
    }
    const declared = batching ? spec.shape.slice(1) : spec.shape;
    if (input.dims.length !== declared.length) {
      return `model_warmup '${sample.name}' input '${spec.name}' has dims [${input.dims.join(',')}] but the input's shape is [${spec.shape.join(',')}]${batching ? ' (dims exclude the batch dimension)' : ''}`;
    }
    for (let i = 0; i < declared.length; i++) {
      const d = declared[i]!;
      if (d !== -1 && d !== input.dims[i]) {
        return `model_warmup '${sample.name}' input '${spec.name}' dimension ${i} is ${input.dims[i]} but the model needs ${d}`;
      }
    }
  }
  for (const name of Object.keys(sample.inputs)) {
    if (!def.inputs.some((s) => s.name === name)) {
      return `model_warmup '${sample.name}' names input '${name}', which the model does not have`;
    }
  }
  return null;
}

/** Fresh tensors for one run of a sample (each run gets its own: input buffers are transferred to the worker). */
function warmupTensors(def: ModelDefinition, sample: WarmupSample): Tensor[] {
  return def.inputs.map((spec) => {
    const input = sample.inputs[spec.name]!;
    const shape = def.maxBatchSize > 0 ? [Math.max(1, sample.batchSize), ...input.dims] : [...input.dims];
    const length = elementCount(shape);
    const data =
      input.data === 'zero' ? allocateTensorData(input.datatype, length) : randomData(input.datatype, length);
    return { name: spec.name, datatype: input.datatype, shape, data };
  });
}

async function runSample(
  def: ModelDefinition,
  pool: ModelInstancePool,
  sample: WarmupSample,
): Promise<number> {
  const outputNames = def.outputs.map((o) => o.name);
  let runs = 0;
  for (let n = 0; n < sample.count; n++) {
    await Promise.all(
      Array.from({ length: pool.size }, async (_, instance) => {
        await pool.runOn(instance, warmupTensors(def, sample), outputNames);
        runs++;
      }),
    );
  }
  return runs;
}

/** Runs the warm-up on every instance of `pool`. Throws AppError MODEL_LOAD_FAILED when a configured sample fails. */
export async function warmUp(
  def: ModelDefinition,
  pool: ModelInstancePool,
  logger: RuntimeLogger,
): Promise<WarmupResult> {
  const where = `model '${def.name}' version ${def.version}`;
  if (def.warmup.length === 0) {
    const sample = defaultWarmupSample(def);
    try {
      const runs = await runSample(def, pool, sample);
      return { runs, usedDefault: true };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      logger.warn(
        { model: def.name, version: def.version, reason },
        `${where}: default warm-up (zero data, dynamic dims = ${DEFAULT_WARMUP_DIM}) failed; serving anyway — add model_warmup to config.json to warm this model up: ${reason}`,
      );
      return { runs: 0, usedDefault: true, defaultFailure: reason };
    }
  }
  let runs = 0;
  for (const sample of def.warmup) {
    const problem = checkSample(def, sample);
    if (problem) throw new AppError('MODEL_LOAD_FAILED', `${where}: ${problem}`);
    try {
      runs += await runSample(def, pool, sample);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new AppError('MODEL_LOAD_FAILED', `${where}: warm-up sample '${sample.name}' failed: ${reason}`, {
        cause: err,
      });
    }
  }
  return { runs, usedDefault: false };
}

import { AppError } from '../../shared/errors/index.ts';
import type { DecodedInferRequest } from '../protocol/decode-request.ts';
import type { ModelDefinition } from '../repository/definition.ts';

/** Where a validated request goes in the batcher. */
export interface BatchPlacement {
  /** The request's dim 0 when the model batches; 1 when it does not (maxBatchSize 0). */
  batchSize: number;
  /**
   * Requests with equal keys can be concatenated along dim 0 and run together: it covers input names (in model
   * order), datatypes, non-batch dims, and the requested outputs with their binary flags (sorted by name).
   */
  batchKey: string;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * Checks a decoded request against the model's signature, its FULL shapes (see ModelDefinition.inputs). All
 * failures are 400 INVALID_INPUT.
 */
export function validateAgainstModel(
  req: DecodedInferRequest,
  model: Pick<ModelDefinition, 'name' | 'maxBatchSize' | 'inputs' | 'outputs'>,
): BatchPlacement {
  const m = `model '${model.name}'`;
  const specs = new Map(model.inputs.map((s) => [s.name, s]));
  const byName = new Map(req.inputs.map((t) => [t.name, t]));

  for (const t of req.inputs) {
    if (!specs.has(t.name)) {
      throw new AppError(
        'INVALID_INPUT',
        `${m} has no input '${t.name}' (expects ${model.inputs.map((s) => `'${s.name}'`).join(', ')})`,
      );
    }
  }

  const batching = model.maxBatchSize > 0;
  let batchSize: number | undefined;
  let batchSource = '';
  const keyInputs: [string, string, number[]][] = [];

  for (const spec of model.inputs) {
    const t = byName.get(spec.name);
    if (!t) throw new AppError('INVALID_INPUT', `${m} expects input '${spec.name}'`);
    const what = `input '${t.name}'`;
    if (t.datatype !== spec.datatype) {
      throw new AppError(
        'INVALID_INPUT',
        `${what}: datatype ${t.datatype} does not match ${m}, which expects ${spec.datatype}`,
      );
    }
    if (t.shape.length !== spec.shape.length) {
      throw new AppError(
        'INVALID_INPUT',
        `${what}: shape ${fmt(t.shape)} has rank ${t.shape.length} but ${m} expects rank ${spec.shape.length} ${fmt(spec.shape)}`,
      );
    }
    const first = batching ? 1 : 0;
    for (let i = first; i < spec.shape.length; i++) {
      const want = spec.shape[i]!;
      if (want >= 0 && t.shape[i] !== want) {
        throw new AppError(
          'INVALID_INPUT',
          `${what}: shape ${fmt(t.shape)} has dimension ${i} = ${t.shape[i]} but ${m} expects ${want} ${fmt(spec.shape)}`,
        );
      }
    }
    if (batching) {
      const b = t.shape[0]!;
      if (batchSize === undefined) {
        batchSize = b;
        batchSource = t.name;
      } else if (b !== batchSize) {
        throw new AppError(
          'INVALID_INPUT',
          `inputs '${batchSource}' and '${t.name}' have different batch sizes (${batchSize} and ${b})`,
        );
      }
    }
    keyInputs.push([t.name, t.datatype, batching ? t.shape.slice(1) : t.shape]);
  }

  if (batching) {
    // A batching model has at least one input with rank >= 1 (its batch dim); guard odd metadata anyway.
    const b = batchSize ?? 1;
    if (b < 1) throw new AppError('INVALID_INPUT', `batch size must be at least 1 (input '${batchSource}')`);
    if (b > model.maxBatchSize) {
      throw new AppError(
        'INVALID_INPUT',
        `batch size ${b} exceeds max_batch_size ${model.maxBatchSize} of ${m}`,
      );
    }
    batchSize = b;
  }

  let keyOutputs: [string, boolean][] | string = `*:${req.binaryOutputDefault}`;
  if (req.outputs) {
    const outputNames = new Set(model.outputs.map((o) => o.name));
    for (const o of req.outputs) {
      if (!outputNames.has(o.name)) {
        throw new AppError(
          'INVALID_INPUT',
          `${m} has no output '${o.name}' (has ${model.outputs.map((s) => `'${s.name}'`).join(', ')})`,
        );
      }
    }
    keyOutputs = req.outputs
      .map((o): [string, boolean] => [o.name, o.binary])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  return {
    batchSize: batchSize ?? 1,
    batchKey: JSON.stringify([model.name, keyInputs, keyOutputs]),
  };
}

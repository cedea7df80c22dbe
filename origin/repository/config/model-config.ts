import type { z } from 'zod';
import { AppError } from '../../../shared/errors/index.ts';
import type { Datatype } from '../../../shared/protocol/datatypes.ts';
import type { InstanceKind } from '../../runtime/execution-provider.ts';
import { modelConfigSchema, type tensorSchema } from './config-schema.ts';
import type { VersionPolicy } from './version-policy.ts';

/**
 * Triton's model configuration (`<repo>/<model>/config.json`, Triton's JSON field names), parsed strictly: an
 * unknown field is an error naming it, because a typo must not silently change serving behaviour. Integers may
 * be given as numeric strings ("100"), as protobuf's JSON mapping writes int64 fields.
 *
 * Defaults follow Triton: `max_batch_size` 0 (no batch dimension), one KIND_AUTO instance, version policy
 * `latest 1`. Deliberate differences:
 * - `max_batch_size` is never auto-completed from the model; `dynamic_batching` requires it to be > 0.
 * - `max_queue_size` and `default_timeout_microseconds` are also accepted directly under `dynamic_batching`
 *   (besides Triton's `default_queue_policy`); giving both with different values is an error.
 * - `timeout_action: DELAY` is rejected (only REJECT is implemented); `priority_queue_policy` is accepted but
 *   not applied per level (a load warning says so; `default_queue_policy` applies to every level).
 */

/** A tensor declared in config.json; `dims` exclude the batch dimension when max_batch_size > 0. */
export interface ConfigTensor {
  name: string;
  datatype: Datatype;
  dims: number[];
}

interface DynamicBatchingSettings {
  preferredBatchSizes: number[];
  maxQueueDelayMicros: number;
  maxQueueSize: number;
  defaultTimeoutMicros: number;
  priorityLevels: number;
  defaultPriorityLevel: number;
  allowTimeoutOverride: boolean;
}

export interface InstanceGroup {
  count: number;
  kind: InstanceKind;
  /** CUDA devices; `count` instances are placed on EACH listed device (Triton semantics). */
  gpus: number[] | undefined;
}

interface WarmupInput {
  datatype: Datatype;
  /** Without the batch dimension when the model batches. */
  dims: number[];
  data: 'zero' | 'random';
}

export interface WarmupSample {
  name: string;
  /** Rows of the batch dimension (>= 1) when the model batches; 0 for a model without a batch dimension. */
  batchSize: number;
  /** How many times the sample runs on each instance. */
  count: number;
  inputs: Record<string, WarmupInput>;
}

/** config.json after parsing, validation and Triton's defaults; not yet completed from the ONNX file. */
export interface ModelConfig {
  name: string | undefined;
  maxBatchSize: number;
  inputs: ConfigTensor[] | undefined;
  outputs: ConfigTensor[] | undefined;
  dynamicBatching: DynamicBatchingSettings | undefined;
  instanceGroups: InstanceGroup[];
  versionPolicy: VersionPolicy;
  warmup: WarmupSample[] | undefined;
  parameters: Record<string, string>;
  /** Model file name in each version directory (Triton `default_model_filename`). */
  defaultModelFilename: string;
  /** Accepted settings that are not applied; logged at load. */
  warnings: string[];
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const names = issue.keys.map((k) => `'${path ? `${path}.` : ''}${k}'`).join(', ');
        return `unknown field${issue.keys.length > 1 ? 's' : ''} ${names}`;
      }
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}

function configError(file: string, message: string): AppError {
  return new AppError('MODEL_LOAD_FAILED', `invalid model config ${file}: ${message}`);
}

function uniqueNames(list: { name: string }[] | undefined, what: string, file: string): void {
  const seen = new Set<string>();
  for (const t of list ?? []) {
    if (seen.has(t.name)) throw configError(file, `${what} '${t.name}' is listed twice`);
    seen.add(t.name);
  }
}

/**
 * Parses a config.json value (already JSON-parsed; `undefined` = no config.json) and applies Triton's defaults.
 * `file` names the config in errors. Throws AppError MODEL_LOAD_FAILED.
 */
export function parseModelConfig(json: unknown, file: string): ModelConfig {
  const parsed = modelConfigSchema.safeParse(json ?? {});
  if (!parsed.success) throw configError(file, formatIssues(parsed.error));
  const raw = parsed.data;
  const warnings: string[] = [];
  const maxBatchSize = raw.max_batch_size ?? 0;
  uniqueNames(raw.input, 'input', file);
  uniqueNames(raw.output, 'output', file);

  let dynamicBatching: DynamicBatchingSettings | undefined;
  const db = raw.dynamic_batching;
  if (db) {
    if (maxBatchSize === 0) {
      throw configError(file, 'dynamic_batching requires max_batch_size > 0');
    }
    const policy = db.default_queue_policy ?? {};
    const pick = (field: 'max_queue_size' | 'default_timeout_microseconds'): number => {
      const flat = db[field];
      const nested = policy[field];
      if (flat !== undefined && nested !== undefined && flat !== nested) {
        throw configError(
          file,
          `dynamic_batching.${field} (${flat}) conflicts with dynamic_batching.default_queue_policy.${field} (${nested})`,
        );
      }
      return flat ?? nested ?? 0;
    };
    const preferred = db.preferred_batch_size ?? [];
    for (const size of preferred) {
      if (size > maxBatchSize) {
        throw configError(
          file,
          `dynamic_batching.preferred_batch_size ${size} exceeds max_batch_size ${maxBatchSize}`,
        );
      }
    }
    const priorityLevels = db.priority_levels ?? 0;
    const defaultPriorityLevel = db.default_priority_level ?? 0;
    if (defaultPriorityLevel > priorityLevels) {
      throw configError(
        file,
        `dynamic_batching.default_priority_level ${defaultPriorityLevel} must be <= priority_levels ${priorityLevels}`,
      );
    }
    const policies = [policy, ...Object.values(db.priority_queue_policy ?? {})];
    if (policies.some((p) => p.timeout_action === 'DELAY')) {
      throw configError(file, 'timeout_action DELAY is not supported (only REJECT)');
    }
    if (db.priority_queue_policy && Object.keys(db.priority_queue_policy).length > 0) {
      warnings.push(
        'dynamic_batching.priority_queue_policy is not applied per priority level; default_queue_policy applies to all levels',
      );
    }
    dynamicBatching = {
      preferredBatchSizes: [...new Set(preferred)].sort((a, b) => a - b),
      maxQueueDelayMicros: db.max_queue_delay_microseconds ?? 0,
      maxQueueSize: pick('max_queue_size'),
      defaultTimeoutMicros: pick('default_timeout_microseconds'),
      priorityLevels,
      defaultPriorityLevel,
      // Triton defaults this to false; our contract (docs/guides/your-own-model.md) lets a request shorten the default unless a model opts out.
      allowTimeoutOverride: policy.allow_timeout_override ?? true,
    };
  }

  const instanceGroups: InstanceGroup[] = (raw.instance_group ?? [{}]).map((g) => ({
    count: g.count ?? 1,
    kind: g.kind ?? 'KIND_AUTO',
    gpus: g.gpus,
  }));
  const kinds = new Set(instanceGroups.map((g) => g.kind));
  if (kinds.size > 1) {
    throw configError(file, `instance_group mixes kinds ${[...kinds].join(', ')}; use one kind per model`);
  }

  const vp = raw.version_policy;
  const versionPolicy: VersionPolicy = vp?.all
    ? { kind: 'all' }
    : vp?.specific
      ? { kind: 'specific', versions: [...new Set(vp.specific.versions)].sort((a, b) => a - b) }
      : { kind: 'latest', numVersions: vp?.latest?.num_versions ?? 1 };

  const warmup = raw.model_warmup?.map((w, i): WarmupSample => {
    const batchSize = maxBatchSize > 0 ? (w.batch_size ?? 1) : 0;
    if (maxBatchSize > 0 && (batchSize < 1 || batchSize > maxBatchSize)) {
      throw configError(file, `model_warmup.${i}.batch_size must be in 1..max_batch_size (${maxBatchSize})`);
    }
    if (maxBatchSize === 0 && (w.batch_size ?? 0) > 1) {
      throw configError(
        file,
        `model_warmup.${i}.batch_size must be 0 or 1 for a model with max_batch_size 0`,
      );
    }
    const inputs: Record<string, WarmupInput> = {};
    for (const [name, input] of Object.entries(w.inputs)) {
      inputs[name] = {
        datatype: input.data_type,
        dims: input.dims,
        data: input.zero_data ? 'zero' : 'random',
      };
    }
    return { name: w.name, batchSize, count: w.count ?? 1, inputs };
  });

  const parameters: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.parameters ?? {})) parameters[k] = v.string_value;

  const toTensor = (t: z.infer<typeof tensorSchema>): ConfigTensor => ({
    name: t.name,
    datatype: t.data_type,
    dims: t.dims,
  });

  return {
    name: raw.name,
    maxBatchSize,
    inputs: raw.input?.map(toTensor),
    outputs: raw.output?.map(toTensor),
    dynamicBatching,
    instanceGroups,
    versionPolicy,
    warmup,
    parameters,
    defaultModelFilename: raw.default_model_filename ?? 'model.onnx',
    warnings,
  };
}

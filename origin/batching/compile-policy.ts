import { AppError } from '../../shared/errors/index.ts';

/**
 * Triton's `dynamic_batching` settings for one model, already parsed (ModelDefinition.batching: the
 * no-merging settings for a model without a `dynamic_batching` block). Times are microseconds, as in Triton's
 * `config.pbtxt`.
 */
export interface BatchingConfig {
  /** 0 = the model does not batch: each request runs alone. */
  maxBatchSize: number;
  /** May be empty; Triton then treats `[maxBatchSize]` as the only preferred size. */
  preferredBatchSizes: number[];
  /** 0 = never wait for more requests. */
  maxQueueDelayMicros: number;
  /** 0 = unbounded; counts queued requests (not items). */
  maxQueueSize: number;
  /** 0 = no timeout. */
  defaultTimeoutMicros: number;
  /** 0 = priorities disabled; else levels 1..N, 1 highest. */
  priorityLevels: number;
  /** Level of a request that gives none (Triton `default_priority_level`); 0 = the lowest level. */
  defaultPriorityLevel: number;
  /** Runner instances (instance_group count): batches in flight at once. */
  concurrency: number;
}

/** A validated config with the derived values `decide` needs on every call. */
export interface BatchPolicy {
  /** `maxBatchSize > 0`. */
  readonly batching: boolean;
  readonly maxBatchSize: number;
  /** Triton-normalized: `{maxBatchSize}` when the config lists none. Empty when not batching. */
  readonly preferred: ReadonlySet<number>;
  /** Largest preferred size (so `maxBatchSize` when the config lists none). */
  readonly maxPreferred: number;
  readonly delayMs: number;
  readonly maxQueueSize: number;
  readonly defaultTimeoutMicros: number;
  readonly priorityEnabled: boolean;
  /** Number of priority levels in the queue: `priorityLevels`, or 1 when priorities are disabled. */
  readonly levels: number;
  /** The level used for a request that gives none (resolved: never 0). */
  readonly defaultLevel: number;
  readonly concurrency: number;
}

function isNonNegativeInt(n: number): boolean {
  return Number.isInteger(n) && n >= 0;
}

/**
 * Validates a config and derives the policy. Throws AppError('MODEL_LOAD_FAILED') naming the model and the
 * offending field: a bad batching config must stop the model from loading, never surface per request.
 */
export function compilePolicy(config: BatchingConfig, model = 'model'): BatchPolicy {
  const bad = (what: string): never => {
    throw new AppError('MODEL_LOAD_FAILED', `invalid dynamic batching config for model ${model}: ${what}`);
  };
  const c = config;
  if (!isNonNegativeInt(c.maxBatchSize)) bad(`max_batch_size must be an integer >= 0, got ${c.maxBatchSize}`);
  if (!(Number.isFinite(c.maxQueueDelayMicros) && c.maxQueueDelayMicros >= 0)) {
    bad(`max_queue_delay_microseconds must be >= 0, got ${c.maxQueueDelayMicros}`);
  }
  if (!isNonNegativeInt(c.maxQueueSize)) bad(`max_queue_size must be an integer >= 0, got ${c.maxQueueSize}`);
  if (!(Number.isFinite(c.defaultTimeoutMicros) && c.defaultTimeoutMicros >= 0)) {
    bad(`default_timeout_microseconds must be >= 0, got ${c.defaultTimeoutMicros}`);
  }
  if (!isNonNegativeInt(c.priorityLevels))
    bad(`priority_levels must be an integer >= 0, got ${c.priorityLevels}`);
  if (!isNonNegativeInt(c.defaultPriorityLevel) || c.defaultPriorityLevel > c.priorityLevels) {
    bad(`default_priority_level must be in 0..${c.priorityLevels}, got ${c.defaultPriorityLevel}`);
  }
  if (!(Number.isInteger(c.concurrency) && c.concurrency >= 1)) {
    bad(`instance count must be an integer >= 1, got ${c.concurrency}`);
  }
  const batching = c.maxBatchSize > 0;
  if (!batching && c.preferredBatchSizes.length > 0) {
    bad('preferred_batch_size is set but max_batch_size is 0 (the model does not batch)');
  }
  for (const size of c.preferredBatchSizes) {
    if (!(Number.isInteger(size) && size >= 1 && size <= c.maxBatchSize)) {
      bad(`preferred_batch_size ${size} must be an integer in 1..max_batch_size (${c.maxBatchSize})`);
    }
  }
  const preferred = new Set(
    batching && c.preferredBatchSizes.length === 0 ? [c.maxBatchSize] : c.preferredBatchSizes,
  );
  let maxPreferred = 0;
  for (const size of preferred) maxPreferred = Math.max(maxPreferred, size);
  const priorityEnabled = c.priorityLevels > 0;
  const levels = priorityEnabled ? c.priorityLevels : 1;
  return Object.freeze({
    batching,
    maxBatchSize: c.maxBatchSize,
    preferred,
    maxPreferred,
    delayMs: c.maxQueueDelayMicros / 1000,
    maxQueueSize: c.maxQueueSize,
    defaultTimeoutMicros: c.defaultTimeoutMicros,
    priorityEnabled,
    levels,
    defaultLevel: priorityEnabled && c.defaultPriorityLevel > 0 ? c.defaultPriorityLevel : levels,
    concurrency: c.concurrency,
  });
}

import {
  type BatchingConfig,
  type BatchPolicy,
  compilePolicy,
} from '../../../origin/batching/compile-policy.ts';

/** A batching model with every optional feature off: each suite turns on what it pins. */
export const BASE_BATCHING: BatchingConfig = {
  maxBatchSize: 8,
  preferredBatchSizes: [],
  maxQueueDelayMicros: 0,
  maxQueueSize: 0,
  defaultTimeoutMicros: 0,
  priorityLevels: 0,
  defaultPriorityLevel: 0,
  concurrency: 1,
};

export function compiledPolicy(over: Partial<BatchingConfig> = {}, model = 'resnet'): BatchPolicy {
  return compilePolicy({ ...BASE_BATCHING, ...over }, model);
}

export { fromOrtType, type OrtTensorType, toOrtType } from './datatypes.ts';
export {
  type ExecutionOptions,
  type ExecutionProviderName,
  executionOptionsFromConfig,
  type GraphOptimization,
  type InstanceKind,
  optionsForInstanceKind,
  type RuntimeLogger,
  reportCudaFallback,
  resetCudaFallbackWarning,
  type SessionAttempt,
  sessionAttempts,
} from './execution-provider.ts';
export {
  ModelInstancePool,
  type ModelInstancePoolOptions,
  type ModelIO,
  type PoolStats,
} from './worker-pool.ts';

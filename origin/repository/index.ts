export {
  type BatchingConfig,
  type BuildDefinitionOptions,
  buildModelDefinition,
  instanceExecutionOptions,
  type ModelDefinition,
} from './definition.ts';
export {
  type ConfigTensor,
  type DynamicBatchingSettings,
  type InstanceGroup,
  type ModelConfig,
  modelConfigSchema,
  parseModelConfig,
  type RawModelConfig,
  selectVersions,
  TRITON_DATATYPES,
  tritonDatatype,
  type VersionPolicy,
  type WarmupInput,
  type WarmupSample,
} from './model-config.ts';
export {
  type DiskModel,
  type LoadedModel,
  ModelRepository,
  type ModelRepositoryOptions,
  type ModelRuntime,
  type ModelVersionState,
  type RepositoryIndexEntry,
  type RepositoryLogger,
  type RuntimeFactory,
} from './repository.ts';
export {
  DEFAULT_WARMUP_DIM,
  defaultWarmupSample,
  type WarmupResult,
  warmUp,
  warmupTensors,
} from './warmup.ts';

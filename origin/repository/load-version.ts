import type { ExecutionOptions, RuntimeLogger } from '../runtime/execution-provider.ts';
import { ModelInstancePool } from '../runtime/instance-pool.ts';
import type { ModelConfig } from './config/model-config.ts';
import { buildModelDefinition, type ModelDefinition } from './definition.ts';
import { modelFile } from './disk-layout.ts';
import { instanceExecutionOptions } from './instance-options.ts';
import { warmUp } from './warmup.ts';

/**
 * What the server attaches to each loaded version (a batcher in front of the pool), without the repository
 * knowing it. Closing lets it drain queued and in-flight requests; the pool is closed after it.
 */
export interface ModelRuntime {
  close(): Promise<void>;
}

/** One READY model version: its definition, its sessions, and the server's runtime for it. */
export interface LoadedModel<R extends ModelRuntime = ModelRuntime> {
  definition: ModelDefinition;
  pool: ModelInstancePool;
  runtime: R;
}

/** The per-version hook; a throwing hook fails the load. */
export type RuntimeFactory<R extends ModelRuntime> = (model: {
  definition: ModelDefinition;
  pool: ModelInstancePool;
}) => R | Promise<R>;

/** pino-compatible. */
export interface RepositoryLogger extends RuntimeLogger {
  error(obj: object, msg: string): void;
}

export interface LoadVersionDeps<R extends ModelRuntime> {
  execution: ExecutionOptions;
  logger: RepositoryLogger;
  createRuntime: RuntimeFactory<R>;
  workerUrl: URL | undefined;
}

/**
 * Loads one version: start the instance pool (one onnxruntime session per worker) → complete/check the config
 * against the ONNX file → warm up every instance → the runtime hook. Whatever fails closes the pool again.
 */
export async function loadVersion<R extends ModelRuntime>(
  model: { name: string; version: number; dir: string; config: ModelConfig; configPath: string | undefined },
  deps: LoadVersionDeps<R>,
): Promise<LoadedModel<R>> {
  const { name, version, config } = model;
  const modelPath = await modelFile(model.dir, version, config);
  const sessionOptions = instanceExecutionOptions(config.instanceGroups, deps.execution);
  const pool = await ModelInstancePool.create({
    modelPath,
    count: sessionOptions.length,
    sessionOptions,
    logger: deps.logger,
    label: `${name}:${version}`,
    ...(deps.workerUrl ? { workerUrl: deps.workerUrl } : {}),
  });
  try {
    const definition = buildModelDefinition({
      name,
      version,
      modelPath,
      configPath: model.configPath,
      config,
      io: pool.metadata,
      executionProvider: pool.provider,
      instanceCount: pool.size,
    });
    const warm = await warmUp(definition, pool, deps.logger);
    const runtime = await deps.createRuntime({ definition, pool });
    deps.logger.info(
      {
        model: name,
        version,
        executionProvider: pool.provider,
        instances: pool.size,
        maxBatchSize: definition.maxBatchSize,
        dynamicBatching: definition.dynamicBatchingEnabled,
        warmupRuns: warm.runs,
      },
      `model '${name}' version ${version} is READY on ${pool.provider}`,
    );
    return { definition, pool, runtime };
  } catch (err) {
    await pool.close();
    throw err;
  }
}

/** Drains the runtime, then closes the pool; a runtime that fails to close is logged, the pool still closes. */
export async function closeVersion(loaded: LoadedModel, logger: RepositoryLogger): Promise<void> {
  try {
    await loaded.runtime.close();
  } catch (err) {
    logger.warn(
      {
        model: loaded.definition.name,
        version: loaded.definition.version,
        err: err instanceof Error ? err.message : String(err),
      },
      'model runtime failed to close cleanly',
    );
  }
  await loaded.pool.close();
}

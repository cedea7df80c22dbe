import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError, isAppError } from '../../shared/errors/index.ts';
import type { ExecutionOptions, RuntimeLogger } from '../runtime/execution-provider.ts';
import { ModelInstancePool } from '../runtime/worker-pool.ts';
import { buildModelDefinition, instanceExecutionOptions, type ModelDefinition } from './definition.ts';
import { type ModelConfig, parseModelConfig, selectVersions } from './model-config.ts';
import { checkModelName } from './model-name.ts';
import { warmUp } from './warmup.ts';

/**
 * A Triton-layout model repository: `<root>/<model>/config.json` (optional) and
 * `<root>/<model>/<version>/model.onnx` (version = positive integer directory).
 *
 * Loading a version: parse + validate config.json → start the instance pool (one onnxruntime session per worker)
 * → complete/check the config against the ONNX file → warm up every instance → `createRuntime` hook → READY.
 *
 * The hook is how the server attaches its per-version machinery (a batcher) without this module knowing it:
 * `createRuntime({ definition, pool })` returns any object with `close()`; it is returned by `get()` as
 * `runtime`, and on unload or replacement `runtime.close()` is awaited (let it drain queued and in-flight
 * requests) before the pool is closed. A throwing hook fails the load.
 *
 * Reload (`load` of a loaded model) is atomic: the new versions load while the old ones keep serving; on success
 * they are swapped in and the old ones are then closed; on failure the old ones keep serving. On a first load,
 * versions that load are served even when a sibling version fails (the failure is still thrown).
 */

export type ModelVersionState = 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

/** One row of Triton's `POST /v2/repository/index`. */
export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  state?: ModelVersionState;
  reason?: string;
}

export interface ModelRuntime {
  close(): Promise<void>;
}

export interface LoadedModel<R extends ModelRuntime = ModelRuntime> {
  definition: ModelDefinition;
  pool: ModelInstancePool;
  runtime: R;
}

export type RuntimeFactory<R extends ModelRuntime> = (model: {
  definition: ModelDefinition;
  pool: ModelInstancePool;
}) => R | Promise<R>;

/** pino-compatible. */
export interface RepositoryLogger extends RuntimeLogger {
  error(obj: object, msg: string): void;
}

export interface ModelRepositoryOptions<R extends ModelRuntime> {
  root: string;
  /** Provider and thread settings (see executionOptionsFromConfig). */
  execution: ExecutionOptions;
  logger: RepositoryLogger;
  /** Per-version hook; default: a runtime whose close() does nothing. */
  createRuntime?: RuntimeFactory<R>;
  /** Session worker entry override (tests). */
  workerUrl?: URL;
}

/** A model directory on disk. */
export interface DiskModel {
  name: string;
  dir: string;
  /** Ascending. */
  versions: number[];
}

interface VersionRecord<R extends ModelRuntime> {
  state: ModelVersionState;
  reason: string;
  loaded: LoadedModel<R> | undefined;
}

interface ModelRecord<R extends ModelRuntime> {
  versions: Map<number, VersionRecord<R>>;
  /** Why the model as a whole failed to load (config error...), shown for versions without their own record. */
  failure: string | undefined;
  lock: Promise<void>;
}

const VERSION_DIR = /^[1-9]\d*$/;
const UNLOADED = 'unloaded';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Triton's load request options. */
export interface LoadOptions {
  /**
   * `parameters.config` of the load request, parsed: a model config used instead of `<model>/config.json` for
   * this load (Triton's override). A later load without it reads the file again.
   */
  config?: unknown;
}

export class ModelRepository<R extends ModelRuntime = ModelRuntime> {
  readonly root: string;
  readonly #execution: ExecutionOptions;
  readonly #logger: RepositoryLogger;
  readonly #createRuntime: RuntimeFactory<R>;
  readonly #workerUrl: URL | undefined;
  readonly #models = new Map<string, ModelRecord<R>>();
  /** Model names seen on disk by the last scan, to tell "not loaded" from "unknown" in get(). */
  #onDisk = new Set<string>();

  constructor(options: ModelRepositoryOptions<R>) {
    this.root = resolve(options.root);
    this.#execution = options.execution;
    this.#logger = options.logger;
    this.#createRuntime = options.createRuntime ?? (() => ({ close: async () => {} }) as unknown as R);
    this.#workerUrl = options.workerUrl;
  }

  /** Model directories and their version directories, by name. */
  async scan(): Promise<DiskModel[]> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(this.root, { withFileTypes: true });
    } catch (err) {
      throw new AppError('MODEL_LOAD_FAILED', `cannot read model repository ${this.root}: ${messageOf(err)}`);
    }
    const models: DiskModel[] = [];
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const dir = join(this.root, e.name);
      if (!(e.isDirectory() || (e.isSymbolicLink() && (await isDirectory(dir))))) continue;
      models.push({ name: e.name, dir, versions: await this.#diskVersions(dir) });
    }
    models.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.#onDisk = new Set(models.map((m) => m.name));
    return models;
  }

  /** Triton's repository index: every model on disk or loaded, one row per version. */
  async index(): Promise<RepositoryIndexEntry[]> {
    const disk = await this.scan();
    const names = new Set([...disk.map((m) => m.name), ...this.#models.keys()]);
    const out: RepositoryIndexEntry[] = [];
    for (const name of [...names].sort()) {
      const record = this.#models.get(name);
      const versions = new Set([
        ...(disk.find((m) => m.name === name)?.versions ?? []),
        ...(record?.versions.keys() ?? []),
      ]);
      if (versions.size === 0) {
        out.push({ name, state: 'UNAVAILABLE', reason: record?.failure ?? 'no version directories' });
        continue;
      }
      for (const v of [...versions].sort((a, b) => a - b)) {
        const r = record?.versions.get(v);
        out.push({
          name,
          version: String(v),
          state: r?.state ?? 'UNAVAILABLE',
          reason: r ? r.reason : (record?.failure ?? UNLOADED),
        });
      }
    }
    return out;
  }

  /**
   * Loads every model on disk (MODEL_CONTROL_MODE=none). A model that fails is logged as an error naming the
   * file and left UNAVAILABLE with the reason; the others load regardless. Returns the index afterwards.
   */
  async loadAll(): Promise<RepositoryIndexEntry[]> {
    const models = await this.scan();
    await Promise.all(
      models.map(async (m) => {
        try {
          await this.load(m.name);
        } catch {
          // logged by load()
        }
      }),
    );
    return this.index();
  }

  /**
   * Loads (or atomically reloads) the versions of `name` that its version_policy selects. Throws AppError:
   * MODEL_NOT_FOUND when there is no such model directory, MODEL_LOAD_FAILED naming the file otherwise.
   */
  load(name: string, options: LoadOptions = {}): Promise<void> {
    return this.#withLock(name, () => this.#load(name, options));
  }

  /** Unloads every version of `name`: UNLOADING (get() → MODEL_NOT_READY), runtime.close(), pool.close(). */
  unload(name: string): Promise<void> {
    return this.#withLock(name, async () => {
      const record = this.#models.get(name);
      if (!record) {
        if (this.#onDisk.has(name) || (await isDirectory(join(this.root, name)))) return;
        throw new AppError('MODEL_NOT_FOUND', `unknown model '${name}'`);
      }
      const closing: Array<Promise<void>> = [];
      for (const [version, r] of record.versions) {
        const loaded = r.loaded;
        if (!loaded) {
          record.versions.set(version, { state: 'UNAVAILABLE', reason: UNLOADED, loaded: undefined });
          continue;
        }
        r.state = 'UNLOADING';
        r.reason = '';
        closing.push(
          this.#close(loaded).finally(() => {
            record.versions.set(version, { state: 'UNAVAILABLE', reason: UNLOADED, loaded: undefined });
          }),
        );
      }
      record.failure = undefined;
      await Promise.all(closing);
      this.#logger.info({ model: name }, `model '${name}' unloaded`);
    });
  }

  /**
   * The loaded model version to serve. Without `version`: the highest READY version. `version` may be the URL
   * string. Throws AppError MODEL_NOT_FOUND (unknown model, no such version, not loaded) or MODEL_NOT_READY
   * (loading, unloading, or failed to load).
   */
  get(name: string, version?: number | string): LoadedModel<R> {
    const record = this.#models.get(name);
    if (version !== undefined && version !== '') {
      const v =
        typeof version === 'number' ? version : VERSION_DIR.test(version) ? Number(version) : Number.NaN;
      const r = record?.versions.get(v);
      if (!record) throw this.#unknown(name);
      if (!r) throw new AppError('MODEL_NOT_FOUND', `model '${name}' has no version ${version}`);
      if (r.state === 'READY' && r.loaded) return r.loaded;
      throw this.#notServing(name, r, ` version ${v}`);
    }
    if (!record) throw this.#unknown(name);
    let best: number | undefined;
    for (const [v, r] of record.versions) {
      if (r.state === 'READY' && r.loaded && (best === undefined || v > best)) best = v;
    }
    if (best !== undefined) return record.versions.get(best)!.loaded!;
    const pending = [...record.versions.values()].find(
      (r) => r.state === 'LOADING' || r.state === 'UNLOADING',
    );
    if (pending) throw this.#notServing(name, pending, '');
    const failed = [...record.versions.values()].find((r) => r.reason && r.reason !== UNLOADED);
    if (failed) throw this.#notServing(name, failed, '');
    if (record.failure) {
      throw new AppError('MODEL_NOT_READY', `model '${name}' is unavailable: ${record.failure}`);
    }
    throw new AppError('MODEL_NOT_FOUND', `model '${name}' is not loaded`);
  }

  /** True when `get(name, version)` would return a model. */
  isReady(name: string, version?: number | string): boolean {
    try {
      this.get(name, version);
      return true;
    } catch {
      return false;
    }
  }

  /** READY versions of a model, ascending. */
  readyVersions(name: string): number[] {
    const record = this.#models.get(name);
    if (!record) return [];
    return [...record.versions]
      .filter(([, r]) => r.state === 'READY' && r.loaded)
      .map(([v]) => v)
      .sort((a, b) => a - b);
  }

  /** Every READY model version. */
  loaded(): LoadedModel<R>[] {
    const out: LoadedModel<R>[] = [];
    for (const record of this.#models.values()) {
      for (const r of record.versions.values()) if (r.state === 'READY' && r.loaded) out.push(r.loaded);
    }
    return out;
  }

  /** Unloads everything (shutdown): runtimes drain, then pools close. */
  async close(): Promise<void> {
    await Promise.all([...this.#models.keys()].map((name) => this.unload(name)));
  }

  #unknown(name: string): AppError {
    return this.#onDisk.has(name)
      ? new AppError('MODEL_NOT_FOUND', `model '${name}' is not loaded`)
      : new AppError('MODEL_NOT_FOUND', `unknown model '${name}'`);
  }

  #notServing(name: string, r: VersionRecord<R>, which: string): AppError {
    switch (r.state) {
      case 'LOADING':
        return new AppError('MODEL_NOT_READY', `model '${name}'${which} is loading`, {
          retryAfterSeconds: 1,
        });
      case 'UNLOADING':
        return new AppError('MODEL_NOT_READY', `model '${name}'${which} is unloading`, {
          retryAfterSeconds: 1,
        });
      default:
        if (r.reason === UNLOADED || r.reason === '') {
          return new AppError('MODEL_NOT_FOUND', `model '${name}'${which} is not loaded`);
        }
        return new AppError('MODEL_NOT_READY', `model '${name}'${which} is unavailable: ${r.reason}`);
    }
  }

  #record(name: string): ModelRecord<R> {
    let record = this.#models.get(name);
    if (!record) {
      record = { versions: new Map(), failure: undefined, lock: Promise.resolve() };
      this.#models.set(name, record);
    }
    return record;
  }

  /** Serialises load/unload per model; a name that is not a model directory never gets a record or a lock. */
  #withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      checkModelName(name);
    } catch (err) {
      return Promise.reject(err);
    }
    const record = this.#record(name);
    const result = record.lock.then(fn);
    const tail = result.then(
      () => {},
      () => {},
    );
    record.lock = tail;
    return result.finally(() => {
      // Forget models that never got anywhere (e.g. an unknown name), unless another operation is queued.
      const r = this.#models.get(name);
      if (r && r.versions.size === 0 && r.failure === undefined && r.lock === tail) {
        this.#models.delete(name);
      }
    });
  }

  async #diskVersions(dir: string): Promise<number[]> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return [];
    }
    const versions: number[] = [];
    for (const e of entries) {
      if (!VERSION_DIR.test(e.name)) continue;
      if (e.isDirectory() || (e.isSymbolicLink() && (await isDirectory(join(dir, e.name))))) {
        versions.push(Number(e.name));
      }
    }
    return versions.sort((a, b) => a - b);
  }

  /**
   * The model's config: the load request's override when given, else `<model>/config.json`, else none (all
   * completed from the ONNX file). `configPath` names where it came from, for messages.
   */
  async #readConfig(
    name: string,
    dir: string,
    override: unknown,
  ): Promise<{ config: ModelConfig; configPath: string | undefined }> {
    const source =
      override !== undefined
        ? { json: override, label: `the load request's 'config' parameter for '${name}'`, owner: 'model' }
        : await this.#configFile(dir);
    if (!source)
      return { config: parseModelConfig(undefined, join(dir, 'config.json')), configPath: undefined };
    const config = parseModelConfig(source.json, source.label);
    if (config.name !== undefined && config.name !== name) {
      throw new AppError(
        'MODEL_LOAD_FAILED',
        `invalid model config ${source.label}: name '${config.name}' does not match the ${source.owner} '${name}'`,
      );
    }
    return { config, configPath: source.label };
  }

  /** `<dir>/config.json` as JSON, or null when there is none. */
  async #configFile(dir: string): Promise<{ json: unknown; label: string; owner: string } | null> {
    const configPath = join(dir, 'config.json');
    let text: string;
    try {
      text = await readFile(configPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new AppError('MODEL_LOAD_FAILED', `cannot read model config ${configPath}: ${messageOf(err)}`);
    }
    try {
      return { json: JSON.parse(text), label: configPath, owner: 'model directory' };
    } catch (err) {
      throw new AppError(
        'MODEL_LOAD_FAILED',
        `invalid model config ${configPath}: not valid JSON (${messageOf(err)})`,
      );
    }
  }

  async #load(name: string, options: LoadOptions): Promise<void> {
    const record = this.#record(name);
    const dir = join(this.root, name);
    if (!(await isDirectory(dir))) {
      if (record.versions.size === 0) throw new AppError('MODEL_NOT_FOUND', `unknown model '${name}'`);
      throw new AppError('MODEL_LOAD_FAILED', `model directory ${dir} no longer exists`);
    }
    this.#onDisk.add(name);

    let config: ModelConfig;
    let configPath: string | undefined;
    let selected: number[];
    try {
      ({ config, configPath } = await this.#readConfig(name, dir, options.config));
      const versions = await this.#diskVersions(dir);
      if (versions.length === 0) {
        throw new AppError('MODEL_LOAD_FAILED', `model '${name}' has no version directories in ${dir}`);
      }
      selected = selectVersions(config.versionPolicy, versions, name);
    } catch (err) {
      const message = messageOf(err);
      record.failure = message;
      for (const r of record.versions.values()) {
        if (r.state !== 'READY') Object.assign(r, { state: 'UNAVAILABLE', reason: message });
      }
      this.#logger.error({ model: name, err: message }, `failed to load model '${name}': ${message}`);
      throw isAppError(err) ? err : new AppError('MODEL_LOAD_FAILED', message, { cause: err });
    }
    record.failure = undefined;
    for (const warning of config.warnings) {
      this.#logger.warn({ model: name, config: configPath }, `model '${name}': ${warning}`);
    }

    const previous = new Map<number, LoadedModel<R>>();
    for (const [v, r] of record.versions) if (r.state === 'READY' && r.loaded) previous.set(v, r.loaded);
    for (const v of selected) {
      const r = record.versions.get(v);
      if (r?.state !== 'READY') record.versions.set(v, { state: 'LOADING', reason: '', loaded: undefined });
    }

    const results = await Promise.allSettled(
      selected.map((v) => this.#loadVersion(name, v, dir, config, configPath)),
    );
    const failures: string[] = [];
    results.forEach((res, i) => {
      if (res.status === 'rejected') failures.push(`version ${selected[i]}: ${messageOf(res.reason)}`);
    });

    if (failures.length > 0 && previous.size > 0) {
      // Reload failed: the old versions keep serving; discard what did load.
      await Promise.all(
        results.map((res) => (res.status === 'fulfilled' ? this.#close(res.value) : undefined)),
      );
      results.forEach((res, i) => {
        const v = selected[i]!;
        if (previous.has(v)) return;
        record.versions.set(v, {
          state: 'UNAVAILABLE',
          reason: res.status === 'rejected' ? messageOf(res.reason) : 'reload failed',
          loaded: undefined,
        });
      });
    } else {
      results.forEach((res, i) => {
        const v = selected[i]!;
        record.versions.set(
          v,
          res.status === 'fulfilled'
            ? { state: 'READY', reason: '', loaded: res.value }
            : { state: 'UNAVAILABLE', reason: messageOf(res.reason), loaded: undefined },
        );
      });
      // Replaced and deselected versions: close after the swap.
      const retired: Array<Promise<void>> = [];
      for (const [v, old] of previous) {
        const current = record.versions.get(v);
        if (!selected.includes(v)) {
          record.versions.set(v, { state: 'UNLOADING', reason: '', loaded: old });
          retired.push(
            this.#close(old).finally(() => {
              if (record.versions.get(v)?.loaded === old) {
                record.versions.set(v, { state: 'UNAVAILABLE', reason: UNLOADED, loaded: undefined });
              }
            }),
          );
        } else if (current?.loaded !== old) {
          retired.push(this.#close(old));
        }
      }
      await Promise.all(retired);
    }

    if (failures.length > 0) {
      const message = failures.join('; ');
      this.#logger.error({ model: name, err: message }, `failed to load model '${name}': ${message}`);
      throw new AppError('MODEL_LOAD_FAILED', `failed to load model '${name}': ${message}`);
    }
  }

  async #loadVersion(
    name: string,
    version: number,
    dir: string,
    config: ModelConfig,
    configPath: string | undefined,
  ): Promise<LoadedModel<R>> {
    const modelPath = join(dir, String(version), config.defaultModelFilename);
    try {
      const s = await stat(modelPath);
      if (!s.isFile()) throw new Error('not a file');
    } catch {
      throw new AppError('MODEL_LOAD_FAILED', `model file ${modelPath} not found`);
    }
    const sessionOptions = instanceExecutionOptions(config.instanceGroups, this.#execution);
    const pool = await ModelInstancePool.create({
      modelPath,
      count: sessionOptions.length,
      sessionOptions,
      logger: this.#logger,
      label: `${name}:${version}`,
      ...(this.#workerUrl ? { workerUrl: this.#workerUrl } : {}),
    });
    try {
      const definition = buildModelDefinition({
        name,
        version,
        modelPath,
        configPath,
        config,
        io: pool.metadata,
        executionProvider: pool.provider,
        instanceCount: pool.size,
      });
      const warm = await warmUp(definition, pool, this.#logger);
      const runtime = await this.#createRuntime({ definition, pool });
      this.#logger.info(
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

  async #close(loaded: LoadedModel<R>): Promise<void> {
    try {
      await loaded.runtime.close();
    } catch (err) {
      this.#logger.warn(
        { model: loaded.definition.name, version: loaded.definition.version, err: messageOf(err) },
        'model runtime failed to close cleanly',
      );
    }
    await loaded.pool.close();
  }
}

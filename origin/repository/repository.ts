import { join, resolve } from 'node:path';
import { AppError, isAppError } from '../../shared/errors/index.ts';
import type { ExecutionOptions } from '../runtime/execution-provider.ts';
import type { ModelConfig } from './config/model-config.ts';
import { selectVersions } from './config/version-policy.ts';
import {
  type DiskModel,
  isDirectory,
  readModelConfig,
  scanModels,
  versionDirectories,
} from './disk-layout.ts';
import {
  closeVersion,
  type LoadedModel,
  type LoadVersionDeps,
  loadVersion,
  type ModelRuntime,
  type RepositoryLogger,
  type RuntimeFactory,
} from './load-version.ts';
import { checkModelName } from './model-name.ts';
import {
  indexRows,
  type ModelRecord,
  type ModelVersionState,
  modelStateOf,
  type RepositoryIndexEntry,
  readyVersionsOf,
  servingVersion,
  UNLOADED,
  unavailable,
} from './version-state.ts';

/**
 * The model repository: which versions of which models are loaded, and their state (version-state.ts).
 * Loading a version (load-version.ts): parse + validate the config → start the instance pool → complete/check
 * the config against the ONNX file → warm up every instance → `createRuntime` hook → READY.
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

/** Triton's load request options. */
export interface LoadOptions {
  /**
   * `parameters.config` of the load request, parsed: a model config used instead of `<model>/config.json` for
   * this load (Triton's override). A later load without it reads the file again.
   */
  config?: unknown;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ModelRepository<R extends ModelRuntime = ModelRuntime> {
  readonly root: string;
  readonly #logger: RepositoryLogger;
  readonly #loadDeps: LoadVersionDeps<R>;
  readonly #models = new Map<string, ModelRecord<R>>();
  /** Model names seen on disk by the last scan, to tell "not loaded" from "unknown" in get(). */
  #onDisk = new Set<string>();

  constructor(options: ModelRepositoryOptions<R>) {
    this.root = resolve(options.root);
    this.#logger = options.logger;
    this.#loadDeps = {
      execution: options.execution,
      logger: options.logger,
      createRuntime: options.createRuntime ?? (() => ({ close: async () => {} }) as unknown as R),
      workerUrl: options.workerUrl,
    };
  }

  /** Model directories and their version directories, by name. */
  async scan(): Promise<DiskModel[]> {
    const models = await scanModels(this.root);
    this.#onDisk = new Set(models.map((m) => m.name));
    return models;
  }

  /** Triton's repository index: every model on disk or loaded, one row per version. */
  async index(): Promise<RepositoryIndexEntry[]> {
    const disk = await this.scan();
    const names = new Set([...disk.map((m) => m.name), ...this.#models.keys()]);
    return [...names]
      .sort()
      .flatMap((name) =>
        indexRows(name, this.#models.get(name), disk.find((m) => m.name === name)?.versions ?? []),
      );
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
          record.versions.set(version, unavailable(UNLOADED));
          continue;
        }
        r.state = 'UNLOADING';
        r.reason = '';
        closing.push(
          this.#close(loaded).finally(() => {
            record.versions.set(version, unavailable(UNLOADED));
          }),
        );
      }
      record.failure = undefined;
      await Promise.all(closing);
      this.#logger.info({ model: name }, `model '${name}' unloaded`);
    });
  }

  /** The loaded model version to serve; see servingVersion for which one and the errors. */
  get(name: string, version?: number | string): LoadedModel<R> {
    return servingVersion(name, this.#models.get(name), version, this.#onDisk.has(name));
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

  /** The model as a whole (see modelStateOf): READY while any version serves. No disk access. */
  modelState(name: string): ModelVersionState {
    return modelStateOf(this.#models.get(name));
  }

  /** READY versions of a model, ascending. */
  readyVersions(name: string): number[] {
    return readyVersionsOf(this.#models.get(name));
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
      ({ config, configPath } = await readModelConfig(name, dir, options.config));
      const versions = await versionDirectories(dir);
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
      selected.map((version) => loadVersion({ name, version, dir, config, configPath }, this.#loadDeps)),
    );
    const failures: string[] = [];
    results.forEach((res, i) => {
      if (res.status === 'rejected') failures.push(`version ${selected[i]}: ${messageOf(res.reason)}`);
    });

    if (failures.length > 0 && previous.size > 0)
      await this.#keepPrevious(record, selected, results, previous);
    else await this.#swapIn(record, selected, results, previous);

    if (failures.length > 0) {
      const message = failures.join('; ');
      this.#logger.error({ model: name, err: message }, `failed to load model '${name}': ${message}`);
      throw new AppError('MODEL_LOAD_FAILED', `failed to load model '${name}': ${message}`);
    }
  }

  /** A reload failed: the old versions keep serving; what did load is discarded. */
  async #keepPrevious(
    record: ModelRecord<R>,
    selected: number[],
    results: PromiseSettledResult<LoadedModel<R>>[],
    previous: Map<number, LoadedModel<R>>,
  ): Promise<void> {
    await Promise.all(
      results.map((res) => (res.status === 'fulfilled' ? this.#close(res.value) : undefined)),
    );
    results.forEach((res, i) => {
      const v = selected[i]!;
      if (previous.has(v)) return;
      record.versions.set(
        v,
        unavailable(res.status === 'rejected' ? messageOf(res.reason) : 'reload failed'),
      );
    });
  }

  /** The new versions serve from now on; replaced and deselected versions close after the swap. */
  async #swapIn(
    record: ModelRecord<R>,
    selected: number[],
    results: PromiseSettledResult<LoadedModel<R>>[],
    previous: Map<number, LoadedModel<R>>,
  ): Promise<void> {
    results.forEach((res, i) => {
      record.versions.set(
        selected[i]!,
        res.status === 'fulfilled'
          ? { state: 'READY', reason: '', loaded: res.value }
          : unavailable(messageOf(res.reason)),
      );
    });
    const retired: Array<Promise<void>> = [];
    for (const [v, old] of previous) {
      const current = record.versions.get(v);
      if (!selected.includes(v)) {
        record.versions.set(v, { state: 'UNLOADING', reason: '', loaded: old });
        retired.push(
          this.#close(old).finally(() => {
            if (record.versions.get(v)?.loaded === old) record.versions.set(v, unavailable(UNLOADED));
          }),
        );
      } else if (current?.loaded !== old) {
        retired.push(this.#close(old));
      }
    }
    await Promise.all(retired);
  }

  #close(loaded: LoadedModel<R>): Promise<void> {
    return closeVersion(loaded, this.#logger);
  }
}

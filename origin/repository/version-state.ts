import { AppError } from '../../shared/errors/index.ts';
import { VERSION_DIR } from './disk-layout.ts';
import type { LoadedModel, ModelRuntime } from './load-version.ts';

/**
 * The states of a model's versions, as Triton's repository index shows them, and what a request for a version
 * sees in each. Transitions happen in repository.ts; a version serves only while READY.
 */

export type ModelVersionState = 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

/** One row of Triton's `POST /v2/repository/index`. */
export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  state: ModelVersionState;
  reason?: string;
}

export interface VersionRecord<R extends ModelRuntime> {
  state: ModelVersionState;
  reason: string;
  loaded: LoadedModel<R> | undefined;
}

export interface ModelRecord<R extends ModelRuntime> {
  versions: Map<number, VersionRecord<R>>;
  /** Why the model as a whole failed to load (config error...), shown for versions without their own record. */
  failure: string | undefined;
  /** Serialises load and unload of the model. */
  lock: Promise<void>;
}

/** The reason of a version that was unloaded (or never loaded): not an error. */
export const UNLOADED = 'unloaded';

export function unavailable<R extends ModelRuntime>(reason: string): VersionRecord<R> {
  return { state: 'UNAVAILABLE', reason, loaded: undefined };
}

/** The versions of a model to serve: READY ones, ascending. */
export function readyVersionsOf(record: ModelRecord<ModelRuntime> | undefined): number[] {
  if (!record) return [];
  return [...record.versions]
    .filter(([, r]) => r.state === 'READY' && r.loaded)
    .map(([v]) => v)
    .sort((a, b) => a - b);
}

/**
 * A model as a whole, as a request without a version sees it: READY when a version serves, else LOADING or
 * UNLOADING while one is, else UNAVAILABLE (failed, unloaded, or never loaded).
 */
export function modelStateOf(record: ModelRecord<ModelRuntime> | undefined): ModelVersionState {
  if (!record) return 'UNAVAILABLE';
  let pending: ModelVersionState | undefined;
  for (const r of record.versions.values()) {
    if (r.state === 'READY' && r.loaded) return 'READY';
    if (r.state === 'LOADING' || r.state === 'UNLOADING') pending ??= r.state;
  }
  return pending ?? 'UNAVAILABLE';
}

/** Index rows of one model: one per version on disk or known, else one row saying why there is none. */
export function indexRows(
  name: string,
  record: ModelRecord<ModelRuntime> | undefined,
  onDisk: readonly number[],
): RepositoryIndexEntry[] {
  const versions = new Set([...onDisk, ...(record?.versions.keys() ?? [])]);
  if (versions.size === 0) {
    return [{ name, state: 'UNAVAILABLE', reason: record?.failure ?? 'no version directories' }];
  }
  return [...versions]
    .sort((a, b) => a - b)
    .map((v) => {
      const r = record?.versions.get(v);
      return {
        name,
        version: String(v),
        state: r?.state ?? 'UNAVAILABLE',
        reason: r ? r.reason : (record?.failure ?? UNLOADED),
      };
    });
}

/**
 * The loaded version a request gets. Without `version`: the highest READY version. `version` may be the URL
 * string. Throws AppError MODEL_NOT_FOUND (unknown model, no such version, not loaded) or MODEL_NOT_READY
 * (loading, unloading, or failed to load). `known` tells a model on disk that is not loaded from an unknown one.
 */
export function servingVersion<R extends ModelRuntime>(
  name: string,
  record: ModelRecord<R> | undefined,
  version: number | string | undefined,
  known: boolean,
): LoadedModel<R> {
  const unknown = () =>
    known
      ? new AppError('MODEL_NOT_FOUND', `model '${name}' is not loaded`)
      : new AppError('MODEL_NOT_FOUND', `unknown model '${name}'`);
  if (version !== undefined && version !== '') {
    const v =
      typeof version === 'number' ? version : VERSION_DIR.test(version) ? Number(version) : Number.NaN;
    const r = record?.versions.get(v);
    if (!record) throw unknown();
    if (!r) throw new AppError('MODEL_NOT_FOUND', `model '${name}' has no version ${version}`);
    if (r.state === 'READY' && r.loaded) return r.loaded;
    throw notServing(name, r, ` version ${v}`);
  }
  if (!record) throw unknown();
  let best: number | undefined;
  for (const [v, r] of record.versions) {
    if (r.state === 'READY' && r.loaded && (best === undefined || v > best)) best = v;
  }
  if (best !== undefined) return record.versions.get(best)!.loaded!;
  const pending = [...record.versions.values()].find((r) => r.state === 'LOADING' || r.state === 'UNLOADING');
  if (pending) throw notServing(name, pending, '');
  const failed = [...record.versions.values()].find((r) => r.reason && r.reason !== UNLOADED);
  if (failed) throw notServing(name, failed, '');
  if (record.failure) {
    throw new AppError('MODEL_NOT_READY', `model '${name}' is unavailable: ${record.failure}`);
  }
  throw new AppError('MODEL_NOT_FOUND', `model '${name}' is not loaded`);
}

function notServing(name: string, r: VersionRecord<ModelRuntime>, which: string): AppError {
  switch (r.state) {
    case 'LOADING':
      return new AppError('MODEL_NOT_READY', `model '${name}'${which} is loading`, { retryAfterSeconds: 1 });
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

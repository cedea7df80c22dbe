import type { LoadOptions } from '../repository/repository.ts';
import type { ServedModel } from '../serving/served-model.ts';

/** One row of `POST /v2/repository/index`, in Triton's shape. */
export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  state: 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';
  reason?: string;
}

/** What the HTTP layer needs of the model repository, so routes are tested without loading real models. */
export interface ModelRegistry {
  /** The served model, or throws MODEL_NOT_FOUND (unknown model or version) / MODEL_NOT_READY. */
  get(name: string, version?: string): ServedModel;
  /** Versions currently READY, highest first. */
  readyVersions(name: string): string[];
  /** Throws MODEL_NOT_FOUND when the model is not in the repository at all. */
  describe(name: string): { versions: string[]; platform: string };
  index(options?: { readyOnly?: boolean }): Promise<RepositoryIndexEntry[]>;
  load(name: string, options?: LoadOptions): Promise<void>;
  unload(name: string): Promise<void>;
}

import type { Clock } from '../../shared/clock.ts';
import type { OriginMetrics, PendingCount } from '../observability/metrics.ts';
import type { ModelDefinition } from '../repository/definition.ts';
import type { LoadOptions, ModelRepository } from '../repository/repository.ts';
import type { ModelRegistry, RepositoryIndexEntry } from '../server/ports.ts';
import { type ModelSignatureView, ServedModel, type TensorRunner } from './served-model.ts';

export function signatureOf(definition: ModelDefinition): ModelSignatureView {
  return {
    name: definition.name,
    version: String(definition.version),
    maxBatchSize: definition.maxBatchSize,
    inputs: definition.inputs,
    outputs: definition.outputs,
    batching: definition.batching,
    dynamicBatchingEnabled: definition.dynamicBatchingEnabled,
    allowTimeoutOverride: definition.allowTimeoutOverride,
  };
}

/** The repository's per-version hook: every loaded version gets its own batcher in front of its pool. */
export function servedModelFactory(deps: { clock: Clock; metrics?: OriginMetrics; stageBatches?: number }) {
  return ({ definition, pool }: { definition: ModelDefinition; pool: TensorRunner }): ServedModel =>
    new ServedModel(signatureOf(definition), pool, deps);
}

/** Adapts the on-disk model repository to what the HTTP routes need. */
export class RepositoryRegistry implements ModelRegistry {
  readonly #repo: ModelRepository<ServedModel>;

  constructor(repo: ModelRepository<ServedModel>) {
    this.#repo = repo;
  }

  get(name: string, version?: string): ServedModel {
    return this.#repo.get(name, version).runtime;
  }

  readyVersions(name: string): string[] {
    return this.#repo
      .readyVersions(name)
      .sort((a, b) => b - a)
      .map(String);
  }

  describe(name: string): { versions: string[]; platform: string } {
    const loaded = this.#repo.get(name);
    return { versions: this.readyVersions(name), platform: loaded.definition.platform };
  }

  async index(options: { readyOnly?: boolean } = {}): Promise<RepositoryIndexEntry[]> {
    const rows = await this.#repo.index();
    const out = rows.map((r) => ({ ...r, state: r.state ?? 'UNAVAILABLE' }));
    return options.readyOnly ? out.filter((r) => r.state === 'READY') : out;
  }

  load(name: string, options?: LoadOptions): Promise<void> {
    return this.#repo.load(name, options);
  }

  unload(name: string): Promise<void> {
    return this.#repo.unload(name);
  }

  /** Queue depth per loaded version, read by the metrics at scrape time. */
  *pending(): Iterable<PendingCount> {
    for (const { runtime } of this.#repo.loaded()) yield { ...runtime.labels, pending: runtime.pending() };
  }
}

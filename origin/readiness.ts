import type { Lifecycle } from './lifecycle.ts';
import type { ModelRepository } from './repository/repository.ts';
import type { ModelVersionState } from './repository/version-state.ts';

/** What `GET /v2/health/ready` reports. */
export interface ReadinessReport {
  ready: boolean;
  /** Why not, for humans; absent when ready. */
  error?: string;
  /** Each model this origin should serve, and its state (READY while a version of it serves). */
  models: Record<string, ModelVersionState>;
}

/**
 * Whether the origin can do what it was started to do. Ready means: the lifecycle is `ready` (the start-up
 * loads finished, no drain has begun) and every model the origin should serve has a READY version. Which
 * models those are:
 *
 * - `MODEL_CONTROL_MODE=none`: every model in the repository at start (all of them are loaded then), so a
 *   model whose load failed keeps the origin unready;
 * - `explicit`: the models named in `LOAD_MODELS`, plus each one the repository API has loaded since, less
 *   each one it has unloaded. A load request that fails adds nothing (its caller got the error), and a
 *   failed reload leaves the old versions serving, so the model stays READY.
 *
 * Cheap to ask (no disk access): probes may come as often as they like.
 */
export class Readiness {
  readonly #lifecycle: Pick<Lifecycle, 'isReady' | 'state'>;
  readonly #repository: Pick<ModelRepository, 'modelState'>;
  readonly #expected = new Set<string>();

  constructor(deps: {
    lifecycle: Pick<Lifecycle, 'isReady' | 'state'>;
    repository: Pick<ModelRepository, 'modelState'>;
  }) {
    this.#lifecycle = deps.lifecycle;
    this.#repository = deps.repository;
  }

  /** Models the origin should serve from now on (those it loads at start). */
  expect(names: Iterable<string>): void {
    for (const name of names) this.#expected.add(name);
  }

  /** The repository API loaded `name`: it is served from now on. */
  loaded(name: string): void {
    this.#expected.add(name);
  }

  /** The repository API unloaded `name`: it is no longer expected. */
  unloaded(name: string): void {
    this.#expected.delete(name);
  }

  check(): ReadinessReport {
    const models: Record<string, ModelVersionState> = {};
    const unready: string[] = [];
    for (const name of [...this.#expected].sort()) {
      const state = this.#repository.modelState(name);
      models[name] = state;
      if (state !== 'READY') unready.push(`${name} is ${state}`);
    }
    if (!this.#lifecycle.isReady) {
      return { ready: false, error: `server is ${this.#lifecycle.state}`, models };
    }
    if (unready.length > 0)
      return { ready: false, error: `not every model is ready: ${unready.join(', ')}`, models };
    return { ready: true, models };
  }
}

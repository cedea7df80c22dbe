import { DEFAULT_MODEL_CACHE_SETTINGS, type ModelCacheSettings } from '../../cache/policy.ts';

/** Reads one model's settings; null when the model has no row (defaults apply). */
export type ModelSettingsLoader = (name: string) => Promise<ModelCacheSettings | null>;

export interface ModelSettingsCacheOptions {
  load: ModelSettingsLoader;
  /** How long settings are trusted in isolate memory; a change in the models table shows within this. */
  ttlMs?: number;
  /** After a failed load, how long before the database is asked again (the stale value serves meanwhile). */
  retryAfterMs?: number;
  /** Epoch ms; defaults to `Date.now`. */
  now?: () => number;
  onError?: (error: unknown, model: string) => void;
  /** Bound on distinct model names remembered (names come from request paths). */
  maxEntries?: number;
}

interface Entry {
  settings: ModelCacheSettings | null;
  expiresAt: number;
  pending: Promise<ModelCacheSettings | null> | null;
}

/**
 * Model cache settings memoised in isolate memory for ~30 s, so the hot path does not ask Postgres per
 * request. One load per model at a time; while it runs, other callers get the last known settings. When the
 * database fails, the last known settings keep serving; with none known the answer is null, which the policy
 * turns into BYPASS (never a guess).
 */
export class ModelSettingsCache {
  readonly #entries = new Map<string, Entry>();
  readonly #load: ModelSettingsLoader;
  readonly #ttlMs: number;
  readonly #retryAfterMs: number;
  readonly #now: () => number;
  readonly #onError: (error: unknown, model: string) => void;
  readonly #maxEntries: number;

  constructor(options: ModelSettingsCacheOptions) {
    this.#load = options.load;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#retryAfterMs = options.retryAfterMs ?? 1_000;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => {});
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  get(model: string): Promise<ModelCacheSettings | null> {
    const entry = this.#entries.get(model);
    if (entry && entry.expiresAt > this.#now()) return Promise.resolve(entry.settings);
    if (entry?.pending) {
      // Known settings serve while another caller's load is in flight: on Workers, waiting on a load that
      // another request started fails with that request. Only a first load is shared.
      return entry.expiresAt > 0 ? Promise.resolve(entry.settings) : entry.pending;
    }
    return this.#refresh(model, entry);
  }

  /**
   * The memoised settings when fresh, without waiting: `undefined` when they must be loaded first. Lets the
   * cache lookup stay synchronous on the hot path (so its Redis command joins the limiter's pipeline).
   */
  peek(model: string): ModelCacheSettings | null | undefined {
    const entry = this.#entries.get(model);
    return entry && entry.expiresAt > this.#now() ? entry.settings : undefined;
  }

  /** Forget a model's settings (after an admin change in this isolate). */
  invalidate(model: string): void {
    this.#entries.delete(model);
  }

  #refresh(model: string, previous: Entry | undefined): Promise<ModelCacheSettings | null> {
    const entry: Entry = previous ?? { settings: null, expiresAt: 0, pending: null };
    if (!previous) {
      if (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(model, entry);
    }
    const known = previous !== undefined && previous.expiresAt > 0;
    entry.pending = this.#load(model).then(
      (row) => {
        entry.settings = row
          ? {
              cacheable: row.cacheable,
              cacheTtlSeconds: row.cacheTtlSeconds,
              shareable: row.shareable,
              visibility: row.visibility ?? 'public',
              ownerTenantId: row.ownerTenantId ?? null,
            }
          : DEFAULT_MODEL_CACHE_SETTINGS;
        entry.expiresAt = this.#now() + this.#ttlMs;
        entry.pending = null;
        return entry.settings;
      },
      (error: unknown) => {
        this.#onError(error, model);
        entry.pending = null;
        entry.expiresAt = this.#now() + this.#retryAfterMs;
        // Unknown settings stay null (bypass); known ones serve stale until the database answers again.
        if (!known) entry.settings = null;
        return entry.settings;
      },
    );
    return entry.pending;
  }
}

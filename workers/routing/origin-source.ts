import { AppError } from '../../shared/errors/index.ts';
import type { OriginRecord } from '../../shared/fleet/origin-record.ts';
import { listLiveOrigins, type RegistryRedis } from '../../shared/fleet/registry.ts';
import { ANY_MODEL } from './picker.ts';

/** Where the router gets the fleet from. */
export interface OriginSource {
  list(): Promise<OriginRecord[]>;
}

/** Capacity assumed for a statically configured origin (it publishes no load; the picker adds local load). */
const STATIC_ORIGIN_CAPACITY = 64;

/**
 * Parses a static origin list: comma-separated `id=url[@region]` or bare `url[@region]` entries (the id of a
 * bare URL is its host and port). Static origins are assumed ready and serving every model. Throws with the
 * offending entry named.
 */
export function parseStaticOrigins(
  spec: string | readonly string[],
  defaultRegion = 'local',
): OriginRecord[] {
  const entries = (typeof spec === 'string' ? spec.split(',') : spec).map((s) => s.trim()).filter(Boolean);
  const seen = new Set<string>();
  return entries.map((entry) => {
    const eq = entry.indexOf('=');
    const hasId = eq > 0 && !entry.slice(0, eq).includes('/');
    let rest = hasId ? entry.slice(eq + 1) : entry;
    let region = defaultRegion;
    const at = rest.lastIndexOf('@');
    if (at > rest.indexOf('://') + 2 && !rest.slice(at).includes('/')) {
      region = rest.slice(at + 1);
      rest = rest.slice(0, at);
    }
    let url: URL;
    try {
      url = new URL(rest);
    } catch {
      throw new Error(`static origin "${entry}" is not id=url[@region] or url[@region]`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`static origin "${entry}" must be an http(s) URL`);
    }
    const id = hasId ? entry.slice(0, eq) : url.host;
    if (!/^[A-Za-z0-9._:-]+$/.test(id))
      throw new Error(`static origin id "${id}" may contain letters, digits and . _ : -`);
    if (seen.has(id)) throw new Error(`static origin id "${id}" appears twice`);
    if (!region) throw new Error(`static origin "${entry}" has an empty region`);
    seen.add(id);
    return {
      id,
      url: url.origin,
      region,
      status: 'ready',
      models: [{ name: ANY_MODEL, versions: [] }],
      capacity: { maxInflight: STATIC_ORIGIN_CAPACITY },
      load: { inflight: 0, queueDepth: {}, p50LatencyMs: null, gpuUtilization: null },
      startedAt: 0,
      heartbeatAt: 0,
      instanceId: null,
    } satisfies OriginRecord;
  });
}

export class StaticOriginSource implements OriginSource {
  readonly #origins: OriginRecord[];

  constructor(origins: OriginRecord[]) {
    this.#origins = origins;
  }

  async list(): Promise<OriginRecord[]> {
    return this.#origins;
  }
}

export interface RedisOriginSourceOptions {
  redis: RegistryRedis;
  /** How long a read of the registry is reused in this isolate (1–2 s keeps Redis off the hot path). */
  cacheMs?: number;
  /** Epoch ms; defaults to `Date.now`. */
  now?: () => number;
  /** Served when Redis fails before any list was read (for example the static list from config). */
  fallback?: OriginRecord[];
  onError?: (error: unknown) => void;
}

/**
 * The fleet registry in Redis (`listLiveOrigins`), cached for `cacheMs` with one refresh at a time, which
 * only its caller waits for (others get the last list meanwhile; only the very first read is shared). When
 * Redis fails, the last list read keeps serving (stale beats nothing: breakers still guard each origin);
 * with none read yet, the fallback list serves, and without one the request is a 503 naming Redis.
 */
export class RedisOriginSource implements OriginSource {
  readonly #redis: RegistryRedis;
  readonly #cacheMs: number;
  readonly #now: () => number;
  readonly #fallback: OriginRecord[] | null;
  readonly #onError: (error: unknown) => void;
  #cached: OriginRecord[] | null = null;
  #fetchedAt = 0;
  #pending: Promise<OriginRecord[]> | null = null;

  constructor(options: RedisOriginSourceOptions) {
    this.#redis = options.redis;
    this.#cacheMs = options.cacheMs ?? 1_500;
    this.#now = options.now ?? Date.now;
    this.#fallback = options.fallback && options.fallback.length > 0 ? options.fallback : null;
    this.#onError = options.onError ?? (() => {});
  }

  list(): Promise<OriginRecord[]> {
    if (this.#cached && this.#now() - this.#fetchedAt < this.#cacheMs) return Promise.resolve(this.#cached);
    // Only the caller that starts a refresh waits for it; the rest keep the last list meanwhile. On Workers a
    // request waiting on I/O that another request started fails with that request (cancelled, or its
    // client gone) and is itself cancelled as hung when nothing of its own is pending.
    if (this.#pending && this.#cached) return Promise.resolve(this.#cached);
    this.#pending ??= this.#refresh().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #refresh(): Promise<OriginRecord[]> {
    try {
      const origins = await listLiveOrigins(this.#redis, this.#now());
      this.#cached = origins;
      this.#fetchedAt = this.#now();
      return origins;
    } catch (error) {
      this.#onError(error);
      // Retry Redis at most once per cache period while it is failing.
      this.#fetchedAt = this.#now();
      const stale = this.#cached ?? this.#fallback;
      if (stale) {
        this.#cached = stale;
        return stale;
      }
      throw new AppError('DEPENDENCY_UNAVAILABLE', 'the origin registry (Redis) is unreachable', {
        retryAfterSeconds: 1,
        cause: error,
      });
    }
  }
}

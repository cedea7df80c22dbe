import { AppError } from '../../shared/errors/index.ts';
import type { OriginRecord } from '../../shared/fleet/origin-record.ts';
import { type RegistryRedis, readFleet } from '../../shared/fleet/registry.ts';
import type { FleetSnapshots, KnownFleet } from './fleet-snapshot.ts';
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
  /**
   * How long after it was read a fleet may still route while the registry cannot be read (the staleness
   * bound, `FLEET_STALE_IF_ERROR_SECONDS`); default 10 min.
   */
  staleIfErrorMs?: number;
  /** The last known fleet outside the isolate, for a new isolate that finds Redis down; null: none. */
  snapshots?: FleetSnapshots | null;
  /** Served when Redis fails with no last known fleet within the bound (for example the static list). */
  fallback?: OriginRecord[];
  onEvent?: (event: FleetSourceEvent) => void;
}

/** Where a last known fleet came from: this isolate's own read, the snapshot, or the static list. */
type LastKnownFrom = 'isolate' | 'snapshot' | 'static';

/** What the source reports, for logs: each is a state an operator may need to see, not a per-request event. */
export type FleetSourceEvent =
  /** A registry read failed; `served` is what routes instead, `ageMs` how old it is (null: static or none). */
  | { kind: 'read-failed'; error: unknown; served: LastKnownFrom | 'none'; ageMs: number | null }
  /** The registry lost its data (no origin, no sentinel): the last known fleet routes until origins are back. */
  | { kind: 'registry-lost'; served: Exclude<LastKnownFrom, 'static'>; ageMs: number }
  /** The first successful read after failures. */
  | { kind: 'recovered'; failedForMs: number }
  | { kind: 'snapshot-failed'; operation: 'read' | 'write'; error: unknown };

const DEFAULT_STALE_IF_ERROR_MS = 600_000;

/**
 * The fleet registry in Redis (`readFleet`), cached for `cacheMs` with one refresh at a time, which
 * only its caller waits for (others get the last list meanwhile; only the very first read is shared).
 *
 * When a read fails, the last known fleet routes, for at most `staleIfErrorMs` after it was read: this
 * isolate's own last read, else the snapshot another isolate (or process) left (`snapshots`, written after
 * successful reads), else the fallback list; with none of them, the request is a 503 naming Redis, and that
 * answer is reused for `cacheMs` like a list (Redis is asked again once per period, not once per request).
 * Breakers and retries still guard each origin of a stale fleet. A registry that lost its data (Redis restarted
 * empty: no origin and no index sentinel) is treated the same way until live origins have written themselves
 * back, which their next heartbeat does; a registry that is intact and empty is believed at once (the origins
 * left). Redis is asked again every `cacheMs` throughout, so what it returns routes again at the first read
 * that succeeds.
 */
export class RedisOriginSource implements OriginSource {
  readonly #redis: RegistryRedis;
  readonly #cacheMs: number;
  readonly #now: () => number;
  readonly #staleMs: number;
  readonly #snapshots: FleetSnapshots | null;
  readonly #fallback: OriginRecord[] | null;
  readonly #onEvent: (event: FleetSourceEvent) => void;
  /** What `list` answers until `#fetchedAt + #cacheMs`: a fleet, or the 503 of a failed read with nothing known. */
  #cached: OriginRecord[] | AppError | null = null;
  #fetchedAt = 0;
  #pending: Promise<OriginRecord[]> | null = null;
  /** The last fleet the registry returned (or a snapshot of one), with when it was read. */
  #known: KnownFleet | null = null;
  #failingSince: number | null = null;

  constructor(options: RedisOriginSourceOptions) {
    this.#redis = options.redis;
    this.#cacheMs = options.cacheMs ?? 1_500;
    this.#now = options.now ?? Date.now;
    this.#staleMs = options.staleIfErrorMs ?? DEFAULT_STALE_IF_ERROR_MS;
    this.#snapshots = options.snapshots ?? null;
    this.#fallback = options.fallback && options.fallback.length > 0 ? options.fallback : null;
    this.#onEvent = options.onEvent ?? (() => {});
  }

  list(): Promise<OriginRecord[]> {
    const cached = this.#cached;
    const answer = () => (cached instanceof AppError ? Promise.reject(cached) : Promise.resolve(cached!));
    if (cached && this.#now() - this.#fetchedAt < this.#cacheMs) return answer();
    // Only the caller that starts a refresh waits for it; the rest keep the last list meanwhile. On Workers a
    // request waiting on I/O that another request started fails with that request (cancelled, or its
    // client gone) and is itself cancelled as hung when nothing of its own is pending.
    if (this.#pending && cached) return answer();
    this.#pending ??= this.#refresh().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #refresh(): Promise<OriginRecord[]> {
    let read: OriginRecord[];
    let intact: boolean;
    try {
      ({ origins: read, intact } = await readFleet(this.#redis, this.#now()));
    } catch (error) {
      return this.#readFailed(error);
    }
    const at = this.#now();
    this.#fetchedAt = at;
    if (this.#failingSince !== null) {
      this.#onEvent({ kind: 'recovered', failedForMs: at - this.#failingSince });
      this.#failingSince = null;
    }
    if (read.length === 0 && !intact) {
      const last = await this.#lastKnown(at);
      if (last && last.origins.length > 0) {
        this.#onEvent({ kind: 'registry-lost', served: last.from, ageMs: at - last.readAt });
        this.#cached = last.origins;
        return last.origins;
      }
    }
    const fleet = { origins: read, readAt: at };
    this.#known = fleet;
    this.#cached = read;
    if (this.#snapshots) {
      // Awaited by the one caller that refreshed: on Workers, I/O left running after a response may be cut.
      await this.#snapshots.offer(fleet).catch((error: unknown) => {
        this.#onEvent({ kind: 'snapshot-failed', operation: 'write', error });
      });
    }
    return read;
  }

  async #readFailed(error: unknown): Promise<OriginRecord[]> {
    const at = this.#now();
    // Redis is asked again at most once per cache period while it is failing, whatever is served meanwhile.
    this.#fetchedAt = at;
    this.#failingSince ??= at;
    const last = await this.#lastKnown(at);
    if (last) {
      this.#onEvent({ kind: 'read-failed', error, served: last.from, ageMs: at - last.readAt });
      this.#cached = last.origins;
      return last.origins;
    }
    if (this.#fallback) {
      this.#onEvent({ kind: 'read-failed', error, served: 'static', ageMs: null });
      this.#cached = this.#fallback;
      return this.#fallback;
    }
    this.#onEvent({
      kind: 'read-failed',
      error,
      served: 'none',
      ageMs: this.#known ? at - this.#known.readAt : null,
    });
    const seconds = Math.round(this.#staleMs / 1000);
    const failure = new AppError(
      'DEPENDENCY_UNAVAILABLE',
      `the origin registry (Redis) is unreachable, and no fleet read from it in the last ${seconds} s is known`,
      { retryAfterSeconds: 1, cause: error },
    );
    this.#cached = failure;
    throw failure;
  }

  /** The freshest fleet known within the staleness bound: this isolate's, else the snapshot's; null if none. */
  async #lastKnown(at: number): Promise<(KnownFleet & { from: 'isolate' | 'snapshot' }) | null> {
    if (this.#known && at - this.#known.readAt <= this.#staleMs) return { ...this.#known, from: 'isolate' };
    if (!this.#snapshots) return null;
    let snapshot: KnownFleet | null;
    try {
      snapshot = await this.#snapshots.read();
    } catch (error) {
      this.#onEvent({ kind: 'snapshot-failed', operation: 'read', error });
      return null;
    }
    if (!snapshot || at - snapshot.readAt > this.#staleMs) return null;
    if (this.#known && snapshot.readAt <= this.#known.readAt) return null;
    // Adopted: the next failed read uses it from the isolate, without reading the store again.
    this.#known = snapshot;
    return { ...snapshot, from: 'snapshot' };
  }
}

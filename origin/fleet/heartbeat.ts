import type { Clock } from '../../shared/clock.ts';
import type { OriginRecord } from '../../shared/fleet/origin-record.ts';
import {
  deregisterOrigin,
  heartbeatOrigin,
  type RegistryRedis,
  registerOrigin,
} from '../../shared/fleet/registry.ts';
import { drainKey } from '../../shared/redis-keys.ts';
import type { LoadSampler } from './load-sampler.ts';

export interface HeartbeatLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface HeartbeatOptions {
  redis: RegistryRedis;
  identity: { id: string; url: string; region: string; instanceId: string | null };
  sampler: LoadSampler;
  clock: Clock;
  logger: HeartbeatLogger;
  intervalMs: number;
  /** Record lifetime without a beat; must exceed the interval (default deployment: 3 intervals). */
  ttlMs: number;
  /** After a failed write the next try comes this soon (capped by the interval). Default 1000. */
  retryMs?: number;
  /** Bound on each beat; a write still unanswered then counts as failed, so a hung Redis never stops the beats. Default: the interval. */
  writeTimeoutMs?: number;
  /** Bound on each registry write during drain, so a dead Redis never holds up shutdown. Default 2000. */
  drainWriteTimeoutMs?: number;
  /**
   * The control plane's drain request: each beat first reads `aiserve:drain:<id>`; once it is there the beat
   * writes `draining` (not `ready`, which would undo the reconciler's mark) and `onRequested` runs once.
   */
  drainWatch?: { get(key: string): Promise<unknown>; onRequested(): void };
}

/**
 * The origin's membership in the fleet registry. States:
 *
 *   idle ──start()──▶ beating ──drain()──▶ draining (one `draining` write, then deregistered) ──▶ stopped
 *
 * - beating: registers, then rewrites its record every `intervalMs` with fresh load. A failed write is logged
 *   and retried after `retryMs`; it never throws into the origin, and the record simply expires after `ttlMs`
 *   if Redis stays unreachable, which is the truth (routers cannot trust an origin they cannot see).
 * - drain(): stops the beats, writes `status: draining` (routers that read it now skip this origin), then
 *   removes the record. Both writes are bounded by `drainWriteTimeoutMs`.
 * - stop(): stops the beats without deregistering (the record expires by itself).
 */
export interface Heartbeat {
  /** First registration; resolves false (logged, retried on schedule) when it failed. */
  start(): Promise<boolean>;
  /** One write now; resolves whether it succeeded. */
  beat(): Promise<boolean>;
  drain(): Promise<void>;
  stop(): void;
  /** Consecutive failed writes (0 after a success). */
  readonly failures: number;
}

export function createHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { redis, identity, sampler, clock, logger, intervalMs, ttlMs } = options;
  if (ttlMs <= intervalMs)
    throw new Error(`heartbeat TTL (${ttlMs} ms) must exceed its interval (${intervalMs} ms)`);
  const retryMs = Math.min(options.retryMs ?? 1000, intervalMs);
  const drainWriteTimeoutMs = options.drainWriteTimeoutMs ?? 2000;
  const writeTimeoutMs = options.writeTimeoutMs ?? intervalMs;
  const startedAt = Math.round(clock.wallNow());
  let state: 'idle' | 'beating' | 'draining' | 'stopped' = 'idle';
  let cancelTimer: (() => void) | null = null;
  let registered = false;
  let failures = 0;
  let inFlight: Promise<boolean> | null = null;
  let drainRequested = false;

  async function record(status: OriginRecord['status']): Promise<OriginRecord> {
    const snapshot = await sampler.sample();
    return { ...identity, status, startedAt, heartbeatAt: Math.round(clock.wallNow()), ...snapshot };
  }

  /** Settles with the work, or rejects after `ms` on the injected clock. */
  function within<T>(work: Promise<T>, ms: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cancel = clock.setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      work.then(
        (v) => {
          cancel();
          resolve(v);
        },
        (err: unknown) => {
          cancel();
          reject(err);
        },
      );
    });
  }

  async function write(status: OriginRecord['status']): Promise<boolean> {
    try {
      const rec = await record(status);
      const opts = { ttlMs, nowMs: Math.round(clock.wallNow()) };
      await within(
        registered ? heartbeatOrigin(redis, rec, opts) : registerOrigin(redis, rec, opts),
        writeTimeoutMs,
      );
      if (!registered)
        logger.info({ originId: identity.id, url: identity.url }, 'registered in the fleet registry');
      if (failures > 0) logger.info({ originId: identity.id, failures }, 'fleet registry reachable again');
      registered = true;
      failures = 0;
      return true;
    } catch (err) {
      failures++;
      logger.warn(
        { originId: identity.id, failures, err: err instanceof Error ? err.message : String(err) },
        'fleet registry heartbeat failed; retrying',
      );
      return false;
    }
  }

  function schedule(ms: number): void {
    cancelTimer?.();
    cancelTimer = clock.setTimeout(() => {
      cancelTimer = null;
      void beat();
    }, ms);
  }

  /**
   * Whether the reconciler asked this origin to drain; a failed read counts as no (the next beat asks again).
   * The first time the marker is seen, `onRequested` runs (once).
   */
  async function drainAsked(): Promise<boolean> {
    if (!options.drainWatch || drainRequested) return drainRequested;
    try {
      const marker = await within(options.drainWatch.get(drainKey(identity.id)), writeTimeoutMs);
      if (marker === null || marker === undefined) return false;
    } catch {
      return false;
    }
    drainRequested = true;
    logger.info({ originId: identity.id }, 'drain requested by the control plane');
    options.drainWatch.onRequested();
    return true;
  }

  async function beatOnce(): Promise<boolean> {
    return write((await drainAsked()) ? 'draining' : 'ready');
  }

  function beat(): Promise<boolean> {
    if (state !== 'beating') return Promise.resolve(false);
    // Beats never overlap: a slow write delays the next one instead of racing it.
    inFlight ??= beatOnce().then((ok) => {
      inFlight = null;
      if (state === 'beating') schedule(ok ? intervalMs : retryMs);
      return ok;
    });
    return inFlight;
  }

  /** Drain steps never throw and never wait past `drainWriteTimeoutMs`. */
  async function bounded(work: Promise<unknown>, what: string): Promise<void> {
    try {
      await within(work, drainWriteTimeoutMs);
    } catch (err) {
      logger.warn(
        { originId: identity.id, err: err instanceof Error ? err.message : String(err) },
        `fleet registry ${what} failed during drain`,
      );
    }
  }

  return {
    start() {
      if (state !== 'idle') return Promise.resolve(registered);
      state = 'beating';
      return beat();
    },
    beat,
    async drain() {
      if (state === 'draining' || state === 'stopped') return;
      state = 'draining';
      cancelTimer?.();
      cancelTimer = null;
      if (inFlight) await bounded(inFlight, 'heartbeat');
      await bounded(
        (async () => {
          await heartbeatOrigin(redis, await record('draining'), {
            ttlMs,
            nowMs: Math.round(clock.wallNow()),
          });
        })(),
        'draining mark',
      );
      await bounded(deregisterOrigin(redis, identity.id), 'deregistration');
      logger.info({ originId: identity.id }, 'deregistered from the fleet registry');
      state = 'stopped';
    },
    stop() {
      state = 'stopped';
      cancelTimer?.();
      cancelTimer = null;
    },
    get failures() {
      return failures;
    },
  };
}

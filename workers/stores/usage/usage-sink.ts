import type { UsageEvent } from '../../../shared/usage/event.ts';
import type { EdgeLogger } from '../../observability/logger.ts';
import type { EdgeMetrics } from '../../observability/metrics.ts';
import { isStreamFull, type UsageStream } from './usage-stream.ts';

/**
 * Where the edge sends one usage event per authenticated request. `record` returns the background work for
 * the caller to hand to `waitUntil`, so the response never waits for it.
 */
export interface UsageSink {
  record(event: UsageEvent): Promise<void>;
  /** Writes whatever is still waiting: the batch being gathered, and events held after failed writes. */
  flush(): Promise<void>;
  /**
   * Events recorded and not yet stored: being gathered, being written, or held in isolate memory for a retry.
   * What an evicted isolate would lose.
   */
  pending(): number;
}

/** Idempotent insert into `usage_events` (the drain's: ON CONFLICT (event_id, ts) DO NOTHING). */
interface UsageDatabase {
  insert(events: UsageEvent[]): Promise<void>;
}

export interface DurableUsageSinkOptions {
  stream: UsageStream;
  /** Where events go when the stream does not take them; null without a database (they are then held). */
  database: UsageDatabase | null;
  metrics: EdgeMetrics;
  logger: EdgeLogger;
  now: () => number;
  /**
   * Events written together at most: the appends of one pipelined round trip, one direct INSERT, and so also how
   * many held events one write takes along for a retry.
   */
  maxBatch: number;
  /**
   * How long the first event of a batch waits for others before the batch goes (Node). Its appends are issued in
   * one tick, so `@upstash/redis` auto-pipelining sends them in one HTTP round trip. 0: every event goes as it
   * comes (Workers: a request must not wait on another request's timer).
   */
  maxDelayMs: number;
  /** Bound on one direct Postgres insert, in milliseconds (a hung server must not hold `waitUntil` open). */
  databaseTimeoutMs: number;
  /** Held events at most; beyond it the oldest are dropped, counted and logged. */
  maxHeld: number;
  /** Held events older than this (from the event's `ts`), in milliseconds, are dropped, counted and logged. */
  maxHeldAgeMs: number;
  /**
   * Node: held events are retried on a timer this often, in milliseconds. 0 (Workers, where nothing runs
   * between requests): they are retried with later events and on `flush`.
   */
  retryIntervalMs: number;
}

/** Log lines about a condition that lasts (an outage) at most this often per isolate, with counts since the last. */
const LOG_EVERY_MS = 10_000;

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Counts events between log lines, and says when a line is due (the first at once, then every `ms`). */
function throttled(now: () => number, ms: number) {
  let last = Number.NEGATIVE_INFINITY;
  let count = 0;
  return (n: number): number | null => {
    count += n;
    if (now() - last < ms) return null;
    last = now();
    const since = count;
    count = 0;
    return since;
  };
}

/**
 * The usage sink with Redis: each event is appended to the usage stream (`createRedisUsageStream`, which refuses
 * once the stream holds its bound); what the stream does not take (Redis unreachable, timed out, or the stream
 * full) is inserted into Postgres directly with the drain's idempotent insert, so an event that reached both is
 * still one row; what neither takes is held in isolate memory and retried with later events (and on a timer under
 * Node), up to `maxHeld` events and `maxHeldAgeMs`. Beyond those bounds events are dropped, counted
 * (`edge_usage_events_dropped_total`) and logged. Held events are lost if the isolate is evicted: `pending()`.
 *
 * `record` never rejects and never waits on work another request started: each write is this call's own I/O.
 */
export function createDurableUsageSink(o: DurableUsageSinkOptions): UsageSink {
  let gathering: { event: UsageEvent; done: () => void }[] = [];
  let gatherTimer: ReturnType<typeof setTimeout> | null = null;
  /** Oldest first (by when they were held); expiry and the bound cut from the front. */
  let held: UsageEvent[] = [];
  let writing = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  const directLog = throttled(o.now, LOG_EVERY_MS);
  const heldLog = throttled(o.now, LOG_EVERY_MS);

  const drop = (events: UsageEvent[], reason: string) => {
    if (events.length === 0) return;
    o.metrics.inc('edge_usage_events_dropped_total', events.length);
    o.logger.error(
      { dropped: events.length, reason, held: held.length, eventIds: events.slice(0, 5).map((e) => e.id) },
      'usage events dropped',
    );
  };

  const expire = () => {
    const cutoff = o.now() - o.maxHeldAgeMs;
    let n = 0;
    while (n < held.length && held[n]!.ts < cutoff) n += 1;
    if (n > 0) drop(held.splice(0, n), `held longer than ${o.maxHeldAgeMs} ms`);
  };

  const claim = (room: number): UsageEvent[] => {
    if (held.length === 0 || room <= 0) return [];
    expire();
    return held.splice(0, room);
  };

  const hold = (retried: UsageEvent[], fresh: UsageEvent[], cause: Record<string, unknown>) => {
    // Retried events were the oldest held: they go back in front, this call's own behind what others held since.
    held = retried.concat(held, fresh);
    // Each event once, when it is first held (a retry that fails again is not a new failure).
    if (fresh.length > 0) o.metrics.inc('edge_usage_failures_total', fresh.length);
    expire();
    if (held.length > o.maxHeld) drop(held.splice(0, held.length - o.maxHeld), `more than ${o.maxHeld} held`);
    const since = heldLog(retried.length + fresh.length);
    if (since !== null) {
      o.logger.warn(
        { ...cause, failed: since, held: held.length },
        'usage events held in the isolate: neither the stream nor Postgres took them; retrying',
      );
    }
    scheduleRetry();
  };

  /** true when every event is stored (in the stream or in Postgres); false when some were held again. */
  const write = async (fresh: UsageEvent[], retried: UsageEvent[]): Promise<boolean> => {
    const events = retried.length > 0 ? retried.concat(fresh) : fresh;
    if (events.length === 0) return true;
    writing += events.length;
    try {
      // Issued in one tick: auto-pipelining sends them in one request.
      const outcomes = await Promise.allSettled(events.map((e) => o.stream.append(e)));
      const refused: UsageEvent[] = [];
      let full = 0;
      let streamError: unknown;
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') return;
        refused.push(events[i]!);
        if (isStreamFull(outcome.reason)) full += 1;
        streamError ??= outcome.reason;
      });
      if (refused.length < events.length)
        o.metrics.inc('edge_usage_events_total', events.length - refused.length);
      if (refused.length === 0) return true;
      if (full > 0) o.metrics.inc('edge_usage_stream_full_total', full);
      let databaseError: unknown = 'no database configured';
      if (o.database) {
        try {
          await withTimeout(o.database.insert(refused), o.databaseTimeoutMs, 'the direct usage insert');
          o.metrics.inc('edge_usage_events_total', refused.length);
          o.metrics.inc('edge_usage_direct_writes_total', refused.length);
          const since = directLog(refused.length);
          if (since !== null) {
            o.logger.warn(
              { written: since, streamFull: full > 0, err: streamError },
              'usage stream did not take events: written to Postgres directly',
            );
          }
          return true;
        } catch (err) {
          databaseError = err;
        }
      }
      const retriedSet = new Set(retried);
      hold(
        refused.filter((e) => retriedSet.has(e)),
        refused.filter((e) => !retriedSet.has(e)),
        { streamError, databaseError },
      );
      return false;
    } catch (err) {
      // Not reached by design (every failure above is handled); kept so a bug never loses events silently.
      o.logger.error({ err }, 'usage write failed unexpectedly');
      hold(retried, fresh, { err });
      return false;
    } finally {
      writing -= events.length;
    }
  };

  const retryHeld = async (): Promise<void> => {
    // Bounded: each round stores a batch or stops.
    while (held.length > 0 && (await write([], claim(o.maxBatch)))) {}
  };

  const scheduleRetry = () => {
    if (o.retryIntervalMs <= 0 || retryTimer !== null || held.length === 0) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void retryHeld().finally(scheduleRetry);
    }, o.retryIntervalMs);
    // Node: a pending retry must not keep the process alive on its own.
    (retryTimer as { unref?: () => void }).unref?.();
  };

  const sendGathered = async (): Promise<void> => {
    if (gatherTimer !== null) clearTimeout(gatherTimer);
    gatherTimer = null;
    const batch = gathering;
    gathering = [];
    await write(
      batch.map((p) => p.event),
      claim(o.maxBatch - batch.length),
    );
    for (const p of batch) p.done();
  };

  return {
    async record(event) {
      if (o.maxDelayMs <= 0) {
        await write([event], claim(o.maxBatch - 1));
        return;
      }
      await new Promise<void>((done) => {
        gathering.push({ event, done });
        if (gathering.length >= o.maxBatch) void sendGathered();
        else gatherTimer ??= setTimeout(sendGathered, o.maxDelayMs);
      });
    },
    async flush() {
      if (gathering.length > 0) await sendGathered();
      await retryHeld();
    },
    pending: () => gathering.length + writing + held.length,
  };
}

export interface BufferedUsageSinkOptions {
  /** Inserts a batch idempotently (ON CONFLICT DO NOTHING on the event id). */
  insert(events: UsageEvent[]): Promise<void>;
  batchSize: number;
  flushIntervalMs: number;
  now: () => number;
  /** Events kept while inserts fail; beyond it the oldest are dropped and counted. */
  maxBuffered?: number;
  /**
   * Whether `record` waits for an insert another caller started (default true). false on Workers, where a
   * request left waiting on another request's I/O is cancelled as hung: the event stays buffered for the next
   * write instead.
   */
  awaitOthers?: boolean;
  onStored?(count: number): void;
  onDropped?(count: number, error: unknown): void;
}

/**
 * Without Redis: events wait in isolate memory and are inserted in full batches as they fill; the rest when an
 * event arrives after the interval has passed since the last forced write, or on `flush`. A failed
 * insert puts the batch back (ids make the retry safe). Events still buffered when an isolate is evicted are
 * lost: that is why production uses the Redis stream.
 */
export function createBufferedUsageSink(options: BufferedUsageSinkOptions): UsageSink {
  const maxBuffered = options.maxBuffered ?? options.batchSize * 100;
  let buffer: UsageEvent[] = [];
  let lastFlush = options.now();
  let inFlight: Promise<void> | null = null;
  let writing = 0;

  // Only full batches unless forced (interval passed, explicit flush): under load, writing whatever had
  // accumulated during the previous insert made many small inserts, each paying a statement and a commit.
  const writeAll = async (force: boolean): Promise<void> => {
    while (buffer.length >= options.batchSize || (force && buffer.length > 0)) {
      const batch = buffer.slice(0, options.batchSize);
      buffer = buffer.slice(batch.length);
      writing = batch.length;
      try {
        await options.insert(batch);
        options.onStored?.(batch.length);
      } catch (err) {
        buffer = batch.concat(buffer);
        if (buffer.length > maxBuffered) {
          const dropped = buffer.length - maxBuffered;
          buffer = buffer.slice(dropped);
          options.onDropped?.(dropped, err);
        }
        throw err;
      } finally {
        writing = 0;
      }
    }
  };

  const startFlush = (force: boolean): Promise<void> => {
    if (inFlight) return inFlight;
    if (force) lastFlush = options.now();
    inFlight = writeAll(force).finally(() => {
      inFlight = null;
    });
    return inFlight;
  };

  return {
    async record(event) {
      buffer.push(event);
      const due = options.now() - lastFlush >= options.flushIntervalMs;
      if (buffer.length < options.batchSize && !due) return;
      if (inFlight && options.awaitOthers === false) return;
      await startFlush(due);
    },
    flush: () => startFlush(true),
    pending: () => buffer.length + writing,
  };
}

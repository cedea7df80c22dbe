import type { Redis } from '@upstash/redis';
import { USAGE_STREAM } from '../../../shared/redis-keys.ts';
import { USAGE_STREAM_MAXLEN, type UsageEvent, usageStreamFields } from '../../../shared/usage/event.ts';

/**
 * Where the edge sends one usage event per authenticated request. `record` returns the background work for
 * the caller to hand to `waitUntil`, so the response never waits for it.
 */
export interface UsageSink {
  record(event: UsageEvent): Promise<void>;
  /** Writes whatever is still waiting for its batch. */
  flush(): Promise<void>;
}

export interface RedisUsageSinkOptions {
  /** Events sent together at most; a full batch goes at once. */
  maxBatch: number;
  /**
   * How long the first event of a batch waits for others before the batch goes. Its XADDs are issued in one
   * tick, so `@upstash/redis` auto-pipelining sends them in one HTTP round trip instead of one per request.
   * 0: every event is sent as it comes (those recorded in the same tick still share a round trip).
   */
  maxDelayMs: number;
}

interface PendingEvent {
  event: UsageEvent;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function xaddUsage(redis: Pick<Redis, 'xadd'>, event: UsageEvent): Promise<unknown> {
  return redis.xadd(USAGE_STREAM, '*', Object.fromEntries(usageStreamFields(event)), {
    trim: { type: 'MAXLEN', threshold: USAGE_STREAM_MAXLEN, comparison: '~' },
  });
}

/**
 * `XADD <USAGE_STREAM> MAXLEN ~ 1000000 * id <id> e <json>` per event: the drain (DATA-PIPELINE) moves them to
 * Postgres. Events are gathered for up to `maxDelayMs` (or `maxBatch` events) and their XADDs issued together;
 * each `record` settles with its own command's outcome. The caller hands the promise to `waitUntil`, which
 * keeps the isolate alive until the batch has been written.
 */
export function createRedisUsageSink(
  redis: Pick<Redis, 'xadd'>,
  options: RedisUsageSinkOptions = { maxBatch: 100, maxDelayMs: 0 },
): UsageSink {
  if (options.maxDelayMs <= 0) {
    return {
      record: async (event) => {
        await xaddUsage(redis, event);
      },
      flush: async () => {},
    };
  }
  let pending: PendingEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;

  const send = (): Promise<unknown> => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const batch = pending;
    pending = [];
    // Issued in one tick: auto-pipelining puts them in one request. Each settles its own record().
    return Promise.all(batch.map((p) => xaddUsage(redis, p.event).then(() => p.resolve(), p.reject)));
  };

  return {
    record(event) {
      return new Promise<void>((resolve, reject) => {
        pending.push({ event, resolve, reject });
        if (pending.length >= options.maxBatch) void send();
        else timer ??= setTimeout(send, options.maxDelayMs);
      });
    },
    async flush() {
      if (pending.length > 0) await send();
    },
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
  onDropped?(count: number, error: unknown): void;
}

/**
 * Without Redis: events wait in isolate memory and are inserted in full batches as they fill; the rest when an
 * event arrives after the interval has passed since the last forced write, or on `flush`. A failed
 * insert puts the batch back (ids make the retry safe). Events still buffered when an isolate is evicted are lost: that is why production uses the Redis stream.
 */
export function createBufferedUsageSink(options: BufferedUsageSinkOptions): UsageSink {
  const maxBuffered = options.maxBuffered ?? options.batchSize * 100;
  let buffer: UsageEvent[] = [];
  let lastFlush = options.now();
  let inFlight: Promise<void> | null = null;

  // Only full batches unless forced (interval passed, explicit flush): under load, writing whatever had
  // accumulated during the previous insert made many small inserts, each paying a statement and a commit.
  const writeAll = async (force: boolean): Promise<void> => {
    while (buffer.length >= options.batchSize || (force && buffer.length > 0)) {
      const batch = buffer.slice(0, options.batchSize);
      buffer = buffer.slice(batch.length);
      try {
        await options.insert(batch);
      } catch (err) {
        buffer = batch.concat(buffer);
        if (buffer.length > maxBuffered) {
          const dropped = buffer.length - maxBuffered;
          buffer = buffer.slice(dropped);
          options.onDropped?.(dropped, err);
        }
        throw err;
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
  };
}

import type { Redis } from '@upstash/redis';
import {
  USAGE_STREAM,
  USAGE_STREAM_MAXLEN,
  type UsageEvent,
  usageStreamFields,
} from '../../shared/usage/event.ts';

/**
 * Where the edge sends one usage event per authenticated request. `record` returns the background work for
 * the caller to hand to `waitUntil`, so the response never waits for it.
 */
export interface UsageSink {
  record(event: UsageEvent): Promise<void>;
  /** Writes whatever is buffered (the in-memory sink); a no-op for the stream. */
  flush(): Promise<void>;
}

/** `XADD aiserve:usage MAXLEN ~ 1000000 * id <id> e <json>`: the drain (DATA-PIPELINE) moves it to Postgres. */
export function createRedisUsageSink(redis: Pick<Redis, 'xadd'>): UsageSink {
  return {
    async record(event) {
      await redis.xadd(USAGE_STREAM, '*', Object.fromEntries(usageStreamFields(event)), {
        trim: { type: 'MAXLEN', threshold: USAGE_STREAM_MAXLEN, comparison: '~' },
      });
    },
    async flush() {},
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
      if (buffer.length >= options.batchSize || due) await startFlush(due);
    },
    flush: () => startFlush(true),
  };
}

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { jitterAboveBaseDelay } from '../../shared/backoff.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import type { UsageEvent } from '../../shared/usage/event.ts';
import { isRowRejection, type SqlDatabase } from '../client/executor.ts';
import { insertUsageEvents } from './insert-usage.ts';
import { type ParsedEntry, parseUsageEntry, type StreamEntry } from './parse-entry.ts';

export interface UsageDrainHooks {
  /** Runs inside the INSERT's transaction, before COMMIT (crash tests exit here: nothing may be written). */
  beforeCommit?(events: readonly UsageEvent[]): void | Promise<void>;
  /** Runs after COMMIT, before XACK (crash tests exit here: entries stay pending and are redelivered). */
  afterCommit?(events: readonly UsageEvent[]): void | Promise<void>;
}

export interface UsageDrainOptions {
  redis: Redis;
  db: SqlDatabase;
  stream: string;
  deadLetterStream: string;
  group: string;
  consumer: string;
  batchSize: number;
  blockMs: number;
  claimIdleMs: number;
  claimIntervalMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  deadLetterMaxLen: number;
  logger: Logger;
  hooks?: UsageDrainHooks;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface BatchResult {
  /** Stream entries handled (acked) this round. */
  entries: number;
  /** Rows newly written to usage_events. */
  written: number;
  /** Valid events already stored (redelivery after a crash, or a producer retry). */
  duplicates: number;
  deadLettered: number;
  /** Entries taken over from crashed consumers this round. */
  claimed: number;
}

export interface DrainStats extends BatchResult {
  batches: number;
  failures: number;
}

export type DrainState = 'idle' | 'running' | 'stopping' | 'stopped';

type Dead = { entryId: string; reason: string; fields: Record<string, string> };

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Moves usage events from the Redis stream into Postgres, at least once on the Redis side and exactly once in
 * the table (INSERT … ON CONFLICT DO NOTHING on the event id), so no crash loses or doubles an event.
 *
 * States: idle → (start) running → (stop) stopping → stopped. `runOnce()` handles one round without the loop
 * (tests, one-shot jobs). A round: re-read this consumer's own pending entries first (after a restart or a
 * failed write), else claim entries idle past `claimIdleMs` from other (crashed) consumers when due, else read
 * new ones; validate; write the valid ones in one transaction; then, and only then, dead-letter the invalid
 * ones and XACK everything in one MULTI. If Postgres is down nothing is acked and the loop backs off; the
 * events wait in Redis.
 */
export class UsageDrain {
  readonly #o: UsageDrainOptions;
  #state: DrainState = 'idle';
  #loop: Promise<void> | undefined;
  #abort = new AbortController();
  #groupReady = false;
  #ownPendingFirst = true;
  #nextClaimAt = 0;
  #stats: DrainStats = {
    batches: 0,
    failures: 0,
    entries: 0,
    written: 0,
    duplicates: 0,
    deadLettered: 0,
    claimed: 0,
  };

  constructor(options: UsageDrainOptions) {
    this.#o = options;
  }

  get state(): DrainState {
    return this.#state;
  }

  stats(): DrainStats {
    return { ...this.#stats };
  }

  /** Creates the consumer group (and the stream) if missing; safe to call repeatedly. */
  async ensureGroup(): Promise<void> {
    if (this.#groupReady) return;
    try {
      await this.#o.redis.xgroup('CREATE', this.#o.stream, this.#o.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
    this.#groupReady = true;
  }

  /** Starts the loop; resolves once the group exists. Failures inside the loop are logged and retried. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`usage drain cannot start from state ${this.#state}`);
    await this.ensureGroup();
    this.#state = 'running';
    this.#loop = this.#run();
  }

  /** Finishes the round in progress (a blocked read ends within `blockMs`), then resolves. */
  async stop(): Promise<void> {
    if (this.#state === 'idle') this.#state = 'stopped';
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    this.#abort.abort();
    await this.#loop;
    this.#state = 'stopped';
  }

  async #run(): Promise<void> {
    const sleep = this.#o.sleep ?? abortableSleep;
    let attempt = 0;
    while (this.#state === 'running') {
      try {
        const result = await this.runOnce();
        attempt = 0;
        // An empty round already waited in XREADGROUP BLOCK; a full one goes straight on.
        if (result.entries === 0 && this.#o.blockMs === 0) await sleep(100, this.#abort.signal);
      } catch (err) {
        attempt += 1;
        const delay = jitterAboveBaseDelay(
          attempt - 1,
          { baseDelayMs: this.#o.backoffMinMs, maxDelayMs: this.#o.backoffMaxMs },
          Math.random,
        );
        this.#o.logger.warn({ err, attempt, retryInMs: delay }, 'usage drain round failed; nothing acked');
        await sleep(delay, this.#abort.signal);
      }
    }
  }

  /**
   * One round. Throws `DEPENDENCY_UNAVAILABLE` when Postgres (or Redis) cannot take the batch; the entries stay
   * pending and the next round retries them.
   */
  async runOnce(): Promise<BatchResult> {
    await this.ensureGroup();
    let claimed = 0;
    let entries: StreamEntry[] = [];
    if (this.#ownPendingFirst) {
      entries = await this.#read('0', false);
      if (entries.length === 0) this.#ownPendingFirst = false;
    }
    const now = (this.#o.now ?? Date.now)();
    if (entries.length === 0 && now >= this.#nextClaimAt) {
      entries = await this.#claim();
      claimed = entries.length;
      this.#nextClaimAt = now + this.#o.claimIntervalMs;
    }
    if (entries.length === 0) entries = await this.#read('>', true);
    const result = await this.#process(entries);
    result.claimed = claimed;
    this.#stats.claimed += claimed;
    return result;
  }

  async #read(from: '0' | '>', block: boolean): Promise<StreamEntry[]> {
    const { redis, group, consumer, batchSize, stream, blockMs } = this.#o;
    const reply = (
      block && blockMs > 0
        ? await redis.xreadgroup(
            'GROUP',
            group,
            consumer,
            'COUNT',
            batchSize,
            'BLOCK',
            blockMs,
            'STREAMS',
            stream,
            from,
          )
        : await redis.xreadgroup('GROUP', group, consumer, 'COUNT', batchSize, 'STREAMS', stream, from)
    ) as [string, StreamEntry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  /** XAUTOCLAIM entries idle past the timeout (their consumer died); they become this consumer's pending. */
  async #claim(): Promise<StreamEntry[]> {
    const { redis, stream, group, consumer, claimIdleMs, batchSize } = this.#o;
    const claimed: StreamEntry[] = [];
    let cursor = '0-0';
    // Bounded: one batch worth per round; the rest waits for the next round.
    for (let i = 0; i < 10 && claimed.length < batchSize; i += 1) {
      const reply = (await redis.xautoclaim(
        stream,
        group,
        consumer,
        claimIdleMs,
        cursor,
        'COUNT',
        batchSize - claimed.length,
      )) as [string, StreamEntry[], string[]?];
      // Entries trimmed from the stream come back without fields (Redis 7 also drops them from the PEL).
      for (const entry of reply[1]) if (entry?.[1]) claimed.push(entry);
      cursor = reply[0];
      if (cursor === '0-0') break;
    }
    if (claimed.length > 0) {
      this.#o.logger.info({ claimed: claimed.length }, 'usage drain claimed entries from an idle consumer');
    }
    return claimed;
  }

  async #process(entries: StreamEntry[]): Promise<BatchResult> {
    const result: BatchResult = { entries: 0, written: 0, duplicates: 0, deadLettered: 0, claimed: 0 };
    if (entries.length === 0) return result;
    const parsed: ParsedEntry[] = entries.map(parseUsageEntry);
    const dead: Dead[] = [];
    const byId = new Map<string, UsageEvent>();
    for (const p of parsed) {
      if (!p.ok) dead.push({ entryId: p.entryId, reason: p.reason, fields: p.fields });
      else if (!byId.has(p.event.id)) byId.set(p.event.id, p.event);
    }
    const events = [...byId.values()];
    const write = await this.#write(events, parsed, dead);
    await this.#hooks()?.afterCommit?.(events);
    await this.#ackAndBury(
      entries.map(([id]) => id),
      dead,
    );
    result.entries = entries.length;
    result.written = write.written;
    // Every valid entry that added no row: stored before (redelivery) or repeated within this batch.
    const validEntries = parsed.filter((p) => p.ok).length;
    result.duplicates = validEntries - write.written - write.rejected;
    result.deadLettered = dead.length;
    this.#stats.batches += 1;
    this.#stats.entries += result.entries;
    this.#stats.written += result.written;
    this.#stats.duplicates += result.duplicates;
    this.#stats.deadLettered += result.deadLettered;
    this.#o.logger.info(
      {
        entries: result.entries,
        written: result.written,
        duplicates: result.duplicates,
        deadLettered: result.deadLettered,
      },
      'usage batch written',
    );
    return result;
  }

  #hooks(): UsageDrainHooks | undefined {
    return this.#o.hooks;
  }

  /** One transaction for the batch; if Postgres rejects a row itself, find it row by row and dead-letter it. */
  async #write(
    events: UsageEvent[],
    parsed: ParsedEntry[],
    dead: Dead[],
  ): Promise<{ written: number /** entries (not events) dead-lettered here */; rejected: number }> {
    if (events.length === 0) return { written: 0, rejected: 0 };
    try {
      const written = await this.#o.db.transaction(async (tx) => {
        const n = await insertUsageEvents(tx, events);
        await this.#hooks()?.beforeCommit?.(events);
        return n;
      });
      return { written, rejected: 0 };
    } catch (err) {
      if (!isRowRejection(err)) {
        this.#ownPendingFirst = true;
        this.#stats.failures += 1;
        throw new AppError(
          'DEPENDENCY_UNAVAILABLE',
          'Postgres did not take the usage batch; it stays pending',
          {
            cause: err,
          },
        );
      }
    }
    let written = 0;
    let rejected = 0;
    for (const event of events) {
      try {
        written += await insertUsageEvents(this.#o.db, [event]);
      } catch (err) {
        if (!isRowRejection(err)) {
          this.#ownPendingFirst = true;
          this.#stats.failures += 1;
          throw new AppError(
            'DEPENDENCY_UNAVAILABLE',
            'Postgres failed while isolating a rejected usage row',
            {
              cause: err,
            },
          );
        }
        for (const p of parsed) {
          if (p.ok && p.event.id === event.id) {
            rejected += 1;
            dead.push({
              entryId: p.entryId,
              reason: `rejected by Postgres: ${(err as Error).message}`,
              fields: { id: event.id, e: JSON.stringify(event) },
            });
          }
        }
      }
    }
    return { written, rejected };
  }

  async #ackAndBury(entryIds: string[], dead: Dead[]): Promise<void> {
    const { redis, stream, group, deadLetterStream, deadLetterMaxLen } = this.#o;
    const multi = redis.multi();
    for (const d of dead) {
      multi.xadd(
        deadLetterStream,
        'MAXLEN',
        '~',
        deadLetterMaxLen,
        '*',
        'entry',
        d.entryId,
        'stream',
        stream,
        'reason',
        d.reason,
        'fields',
        JSON.stringify(d.fields),
      );
    }
    multi.xack(stream, group, ...entryIds);
    const replies = await multi.exec();
    const failed = replies?.find(([err]) => err);
    if (!replies || failed) {
      this.#ownPendingFirst = true;
      throw new AppError(
        'DEPENDENCY_UNAVAILABLE',
        'Redis did not acknowledge the usage batch; it will be retried',
        {
          cause: failed?.[0],
        },
      );
    }
    if (dead.length > 0) {
      this.#o.logger.warn(
        { deadLettered: dead.length, reasons: dead.slice(0, 5).map((d) => d.reason) },
        'usage entries dead-lettered',
      );
    }
  }
}

import { jitterAboveBaseDelay } from '../../shared/backoff.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import type { UsageEvent } from '../../shared/usage/event.ts';
import type { SqlDatabase } from '../client/executor.ts';
import { type ParsedEntry, parseUsageEntry, type StreamEntry } from './parse-entry.ts';
import { trimAcknowledged } from './trim-acknowledged.ts';
import {
  ackAndDeadLetter,
  claimIdleEntries,
  createConsumerGroup,
  type DeadLetter,
  isMissingGroup,
  readEntries,
  type UsageStreamOptions,
} from './usage-stream.ts';
import { type BatchWrite, writeUsageBatch } from './write-batch.ts';

/** What the drain logs through: pino under Node, the edge's JSON logger in the Worker. */
interface DrainLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

interface UsageDrainHooks {
  /** Runs inside the INSERT's transaction, before COMMIT (crash tests exit here: nothing may be written). */
  beforeCommit?(events: readonly UsageEvent[]): void | Promise<void>;
  /** Runs after COMMIT, before XACK (crash tests exit here: entries stay pending and are redelivered). */
  afterCommit?(events: readonly UsageEvent[]): void | Promise<void>;
}

export interface UsageDrainOptions extends UsageStreamOptions {
  db: SqlDatabase;
  claimIntervalMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  logger: DrainLogger;
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

/** The bounds of one `runPass`: whichever is reached first ends it (checked between rounds). */
export interface PassBounds {
  maxRounds: number;
  maxMs: number;
  /** Aborted: no further round starts (the one in progress finishes and acks). */
  signal?: AbortSignal;
}

export interface PassResult extends BatchResult {
  rounds: number;
  /** True when the last round found nothing: the stream was empty for this consumer when the pass ended. */
  drained: boolean;
  elapsedMs: number;
}

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
 * (tests), `runPass()` rounds until the stream is empty or a bound is reached (`--once`, the Cron Trigger). A
 * round: re-read this consumer's own pending entries first (after a restart or a
 * failed write), else claim entries idle past `claimIdleMs` from other (crashed) consumers when due, else read
 * new ones; validate; write the valid ones in one transaction; then, and only then, dead-letter the invalid
 * ones and XACK everything in one MULTI. If Postgres is down nothing is acked and the loop backs off; the
 * events wait in Redis. When Redis answers NOGROUP (it restarted empty: the group is gone, and the edge's next
 * XADD re-creates the stream without one), the round re-creates the group from id 0 and goes on.
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
    await createConsumerGroup(this.#o);
    this.#groupReady = true;
  }

  /**
   * Rounds until one finds nothing or a bound is reached. A round that fails throws (nothing of it acked);
   * rounds before it stay written and acked.
   */
  async runPass(bounds: PassBounds): Promise<PassResult> {
    const now = this.#o.now ?? Date.now;
    const startedAt = now();
    const total: PassResult = {
      rounds: 0,
      drained: false,
      elapsedMs: 0,
      entries: 0,
      written: 0,
      duplicates: 0,
      deadLettered: 0,
      claimed: 0,
    };
    while (total.rounds < bounds.maxRounds && now() - startedAt < bounds.maxMs && !bounds.signal?.aborted) {
      const r = await this.runOnce();
      total.rounds += 1;
      total.entries += r.entries;
      total.written += r.written;
      total.duplicates += r.duplicates;
      total.deadLettered += r.deadLettered;
      total.claimed += r.claimed;
      if (r.entries === 0) {
        total.drained = true;
        break;
      }
    }
    total.elapsedMs = now() - startedAt;
    return total;
  }

  /**
   * Starts the loop, once the group exists or creating it failed (Redis down: every round tries again, so a
   * long-running drain outlives a Redis that starts after it). Failures inside the loop are logged and retried.
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`usage drain cannot start from state ${this.#state}`);
    try {
      await this.ensureGroup();
    } catch (err) {
      this.#o.logger.warn({ err }, 'usage drain: cannot create the consumer group yet; the loop retries');
    }
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
    try {
      return await this.#round();
    } catch (err) {
      if (!isMissingGroup(err)) throw err;
      // The group was there (ensureGroup) and is gone: Redis restarted empty or lost the key. Every read fails
      // until the group exists again, and the stream the edge keeps appending to would only grow.
      this.#groupReady = false;
      this.#o.logger.warn(
        { stream: this.#o.stream, group: this.#o.group, err: String((err as Error).message ?? err) },
        'usage drain: consumer group missing (Redis restarted empty?); re-creating it from id 0',
      );
      await this.ensureGroup();
      return this.#round();
    }
  }

  async #round(): Promise<BatchResult> {
    let claimed = 0;
    let entries: StreamEntry[] = [];
    if (this.#ownPendingFirst) {
      entries = await readEntries(this.#o, '0', false);
      if (entries.length === 0) this.#ownPendingFirst = false;
    }
    const now = (this.#o.now ?? Date.now)();
    if (entries.length === 0 && now >= this.#nextClaimAt) {
      entries = await this.#claim();
      claimed = entries.length;
      this.#nextClaimAt = now + this.#o.claimIntervalMs;
    }
    if (entries.length === 0) entries = await readEntries(this.#o, '>', true);
    const result = await this.#process(entries);
    result.claimed = claimed;
    this.#stats.claimed += claimed;
    return result;
  }

  /** Entries of crashed consumers, idle past `claimIdleMs`; they become this consumer's pending. */
  async #claim(): Promise<StreamEntry[]> {
    const claimed = await claimIdleEntries(this.#o);
    if (claimed.length > 0) {
      this.#o.logger.info({ claimed: claimed.length }, 'usage drain claimed entries from an idle consumer');
    }
    return claimed;
  }

  async #process(entries: StreamEntry[]): Promise<BatchResult> {
    const result: BatchResult = { entries: 0, written: 0, duplicates: 0, deadLettered: 0, claimed: 0 };
    if (entries.length === 0) return result;
    const parsed: ParsedEntry[] = entries.map(parseUsageEntry);
    const dead: DeadLetter[] = [];
    const byId = new Map<string, UsageEvent>();
    for (const p of parsed) {
      if (!p.ok) dead.push({ entryId: p.entryId, reason: p.reason, fields: p.fields });
      else if (!byId.has(p.event.id)) byId.set(p.event.id, p.event);
    }
    const events = [...byId.values()];
    const write = await this.#write(events, parsed, dead);
    await this.#o.hooks?.afterCommit?.(events);
    await this.#ackAndBury(
      entries.map(([id]) => id),
      dead,
    );
    await trimAcknowledged(this.#o);
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

  async #write(events: UsageEvent[], parsed: ParsedEntry[], dead: DeadLetter[]): Promise<BatchWrite> {
    try {
      return await writeUsageBatch(this.#o.db, events, parsed, dead, this.#o.hooks);
    } catch (err) {
      // Nothing was written: re-read this consumer's pending entries first next round.
      this.#ownPendingFirst = true;
      this.#stats.failures += 1;
      throw err;
    }
  }

  async #ackAndBury(entryIds: string[], dead: DeadLetter[]): Promise<void> {
    let acked: Awaited<ReturnType<typeof ackAndDeadLetter>>;
    try {
      acked = await ackAndDeadLetter(this.#o, entryIds, dead);
    } catch (err) {
      // Redis refused or did not answer the MULTI: the batch is still this consumer's pending; re-read it first.
      this.#ownPendingFirst = true;
      throw err;
    }
    if (!acked.confirmed) {
      this.#ownPendingFirst = true;
      const message = 'Redis did not acknowledge the usage batch; it will be retried';
      throw new AppError('DEPENDENCY_UNAVAILABLE', message, { cause: acked.cause });
    }
    if (dead.length > 0) {
      this.#o.logger.warn(
        { deadLettered: dead.length, reasons: dead.slice(0, 5).map((d) => d.reason) },
        'usage entries dead-lettered',
      );
    }
  }
}

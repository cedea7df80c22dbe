import type { StreamEntry } from './parse-entry.ts';

/**
 * The stream commands the usage drain sends, whatever carries them: ioredis over the Redis protocol under Node
 * (`ioredisUsageStream`), `@upstash/redis` over REST in the Worker's Cron Trigger (`upstashUsageStream`). Each
 * returns Redis' own reply shapes as plain strings; a Redis error rejects with Redis' message (`NOGROUP …`).
 */
export interface UsageStreamClient {
  /** `XGROUP CREATE <stream> <group> 0 MKSTREAM`; resolves false when the group exists already (BUSYGROUP). */
  createGroup(stream: string, group: string): Promise<boolean>;
  /** `XREADGROUP GROUP <group> <consumer> COUNT <count> [BLOCK <blockMs>] STREAMS <stream> <from>`. */
  readGroup(read: GroupRead): Promise<StreamEntry[]>;
  /** `XAUTOCLAIM <stream> <group> <consumer> <minIdleMs> <cursor> COUNT <count>`: the next cursor and entries. */
  autoClaim(claim: AutoClaim): Promise<{ cursor: string; entries: StreamEntry[] }>;
  /**
   * `MULTI`, `XADD <deadLetterStream> MAXLEN ~ <deadLetterMaxLen> * <fields…>` per dead letter,
   * `XACK <stream> <group> <ids…>`, `EXEC`. Not confirmed unless every command succeeded.
   */
  ackAndDeadLetter(ack: AckBatch): Promise<AckOutcome>;
  /** `EVAL <script> <keys…> <args…>`: what must happen atomically on the server (the acknowledged-entries trim). */
  runScript(script: string, keys: string[], args: string[]): Promise<unknown>;
}

interface GroupRead {
  stream: string;
  group: string;
  consumer: string;
  count: number;
  from: '0' | '>';
  /** 0: answer at once; otherwise wait up to this long for new entries. */
  blockMs: number;
}

interface AutoClaim {
  stream: string;
  group: string;
  consumer: string;
  minIdleMs: number;
  cursor: string;
  count: number;
}

interface AckBatch {
  stream: string;
  group: string;
  entryIds: string[];
  deadLetterStream: string;
  deadLetterMaxLen: number;
  /** The field/value list of each dead-letter entry. */
  deadLetters: string[][];
}

export type AckOutcome = { confirmed: true } | { confirmed: false; cause: unknown };

/** The Redis side of the usage drain: the usage stream read through a consumer group, and its dead letters. */
export interface UsageStreamOptions {
  redis: UsageStreamClient;
  stream: string;
  deadLetterStream: string;
  group: string;
  consumer: string;
  batchSize: number;
  blockMs: number;
  claimIdleMs: number;
  deadLetterMaxLen: number;
}

/** An entry the drain cannot write, and why, for the dead-letter stream. */
export interface DeadLetter {
  entryId: string;
  reason: string;
  fields: Record<string, string>;
}

/**
 * Redis answered that the stream or the group does not exist: it restarted empty (or lost the key), which
 * drops the consumer group with it, while the edge goes on appending and so re-creates a stream without one.
 */
export function isMissingGroup(err: unknown): boolean {
  return /\bNOGROUP\b/.test(String((err as Error | undefined)?.message ?? err));
}

/** A BUSYGROUP reply: the group exists already. */
export function isBusyGroup(err: unknown): boolean {
  return /\bBUSYGROUP\b/.test(String((err as Error | undefined)?.message ?? err));
}

/**
 * Creates the consumer group (and the stream) if missing; an existing group is left as it is. From id 0, not
 * `$`: after Redis restarted empty, the entries the edge appended before the group was re-created are read too.
 */
export function createConsumerGroup(s: UsageStreamOptions): Promise<boolean> {
  return s.redis.createGroup(s.stream, s.group);
}

/** This consumer's own pending entries (`0`) or new ones (`>`, blocking up to `blockMs` when asked). */
export function readEntries(s: UsageStreamOptions, from: '0' | '>', block: boolean): Promise<StreamEntry[]> {
  const { group, consumer, batchSize, stream, blockMs } = s;
  return s.redis.readGroup({ stream, group, consumer, count: batchSize, from, blockMs: block ? blockMs : 0 });
}

/** XAUTOCLAIM entries idle past the timeout (their consumer died); they become this consumer's pending. */
export async function claimIdleEntries(s: UsageStreamOptions): Promise<StreamEntry[]> {
  const { stream, group, consumer, claimIdleMs, batchSize } = s;
  const claimed: StreamEntry[] = [];
  let cursor = '0-0';
  // Bounded: one batch worth per round; the rest waits for the next round.
  for (let i = 0; i < 10 && claimed.length < batchSize; i += 1) {
    const reply = await s.redis.autoClaim({
      stream,
      group,
      consumer,
      minIdleMs: claimIdleMs,
      cursor,
      count: batchSize - claimed.length,
    });
    // Entries trimmed from the stream come back without fields (Redis 7 also drops them from the PEL).
    for (const entry of reply.entries) if (entry?.[1]) claimed.push(entry);
    cursor = reply.cursor;
    if (cursor === '0-0') break;
  }
  return claimed;
}

/**
 * Parks the dead letters and XACKs every entry of the batch in one MULTI, so an invalid entry is never acked
 * without being parked. Not confirmed when Redis did not answer every command (`cause`: the first error).
 */
export function ackAndDeadLetter(
  s: UsageStreamOptions,
  entryIds: string[],
  dead: DeadLetter[],
): Promise<AckOutcome> {
  return s.redis.ackAndDeadLetter({
    stream: s.stream,
    group: s.group,
    entryIds,
    deadLetterStream: s.deadLetterStream,
    deadLetterMaxLen: s.deadLetterMaxLen,
    deadLetters: dead.map((d) => [
      'entry',
      d.entryId,
      'stream',
      s.stream,
      'reason',
      d.reason,
      'fields',
      JSON.stringify(d.fields),
    ]),
  });
}

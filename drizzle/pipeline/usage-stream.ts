import type { Redis } from 'ioredis';
import type { StreamEntry } from './parse-entry.ts';

/** The Redis side of the usage drain: the usage stream read through a consumer group, and its dead letters. */
export interface UsageStreamOptions {
  redis: Redis;
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

/** Creates the consumer group (and the stream) if missing; an existing group is left as it is. */
export async function createConsumerGroup(s: UsageStreamOptions): Promise<void> {
  try {
    await s.redis.xgroup('CREATE', s.stream, s.group, '0', 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
  }
}

/** This consumer's own pending entries (`0`) or new ones (`>`, blocking up to `blockMs` when asked). */
export async function readEntries(
  s: UsageStreamOptions,
  from: '0' | '>',
  block: boolean,
): Promise<StreamEntry[]> {
  const { redis, group, consumer, batchSize, stream, blockMs } = s;
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
export async function claimIdleEntries(s: UsageStreamOptions): Promise<StreamEntry[]> {
  const { redis, stream, group, consumer, claimIdleMs, batchSize } = s;
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
  return claimed;
}

/**
 * Parks the dead letters and XACKs every entry of the batch in one MULTI, so an invalid entry is never acked
 * without being parked. Not confirmed when Redis did not answer every command (`cause`: the first error).
 */
export async function ackAndDeadLetter(
  s: UsageStreamOptions,
  entryIds: string[],
  dead: DeadLetter[],
): Promise<{ confirmed: true } | { confirmed: false; cause: unknown }> {
  const { redis, stream, group, deadLetterStream, deadLetterMaxLen } = s;
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
  if (!replies || failed) return { confirmed: false, cause: failed?.[0] };
  return { confirmed: true };
}

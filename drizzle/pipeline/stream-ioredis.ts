import type { Redis } from 'ioredis';
import type { StreamEntry } from './parse-entry.ts';
import { isBusyGroup, type UsageStreamClient } from './usage-stream.ts';

/** The usage drain's stream commands over the Redis protocol (ioredis): the Node drain (`npm run usage:drain`). */
export function ioredisUsageStream(redis: Redis): UsageStreamClient {
  return {
    async createGroup(stream, group) {
      try {
        await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
        return true;
      } catch (err) {
        if (isBusyGroup(err)) return false;
        throw err;
      }
    },

    async readGroup({ stream, group, consumer, count, from, blockMs }) {
      const reply = (
        blockMs > 0
          ? await redis.xreadgroup(
              'GROUP',
              group,
              consumer,
              'COUNT',
              count,
              'BLOCK',
              blockMs,
              'STREAMS',
              stream,
              from,
            )
          : await redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, from)
      ) as [string, StreamEntry[]][] | null;
      return reply?.[0]?.[1] ?? [];
    },

    async autoClaim({ stream, group, consumer, minIdleMs, cursor, count }) {
      const reply = (await redis.xautoclaim(stream, group, consumer, minIdleMs, cursor, 'COUNT', count)) as [
        string,
        StreamEntry[],
        string[]?,
      ];
      return { cursor: reply[0], entries: reply[1] };
    },

    async ackAndDeadLetter({ stream, group, entryIds, deadLetterStream, deadLetterMaxLen, deadLetters }) {
      const multi = redis.multi();
      for (const fields of deadLetters) {
        multi.xadd(deadLetterStream, 'MAXLEN', '~', deadLetterMaxLen, '*', ...fields);
      }
      multi.xack(stream, group, ...entryIds);
      const replies = await multi.exec();
      const failed = replies?.find(([err]) => err);
      if (!replies || failed) return { confirmed: false, cause: failed?.[0] };
      return { confirmed: true };
    },

    runScript: (script, keys, args) => redis.eval(script, keys.length, ...keys, ...args),
  };
}

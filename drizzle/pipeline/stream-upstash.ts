import { Redis } from '@upstash/redis';
import type { StreamEntry } from './parse-entry.ts';
import { isBusyGroup, type UsageStreamClient } from './usage-stream.ts';

export interface UpstashStreamOptions {
  url: string;
  token: string;
  /** Bound on each REST call, in milliseconds. */
  timeoutMs: number;
}

/**
 * The usage drain's stream commands over the Upstash REST API (`@upstash/redis`), for the edge Worker's Cron
 * Trigger, where no Redis-protocol socket outlives an invocation. A client of its own, not the edge's shared
 * one: replies must stay as Redis sent them (the shared client JSON-parses every string, so the `e` field
 * would arrive as an object), and nothing of the drain's should ride in the hot path's auto-pipelines.
 */
export function upstashUsageStream(options: UpstashStreamOptions): UsageStreamClient {
  const redis = new Redis({
    url: options.url,
    token: options.token,
    automaticDeserialization: false,
    enableAutoPipelining: false,
    retry: { retries: 1, backoff: () => 50 },
    signal: () => AbortSignal.timeout(options.timeoutMs),
    latencyLogging: false,
  });
  return {
    async createGroup(stream, group) {
      try {
        await redis.exec(['XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM']);
        return true;
      } catch (err) {
        if (isBusyGroup(err)) return false;
        throw err;
      }
    },

    async readGroup({ stream, group, consumer, count, from, blockMs }) {
      const block = blockMs > 0 ? ['BLOCK', blockMs] : [];
      const reply = await redis.exec<[string, StreamEntry[]][] | null>([
        'XREADGROUP',
        'GROUP',
        group,
        consumer,
        'COUNT',
        count,
        ...block,
        'STREAMS',
        stream,
        from,
      ]);
      return reply?.[0]?.[1] ?? [];
    },

    async autoClaim({ stream, group, consumer, minIdleMs, cursor, count }) {
      const reply = await redis.exec<[string, StreamEntry[], string[]?]>([
        'XAUTOCLAIM',
        stream,
        group,
        consumer,
        minIdleMs,
        cursor,
        'COUNT',
        count,
      ]);
      return { cursor: reply[0], entries: reply[1] };
    },

    async ackAndDeadLetter({ stream, group, entryIds, deadLetterStream, deadLetterMaxLen, deadLetters }) {
      const tx = redis.multi();
      for (const fields of deadLetters) {
        const entry: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i]!] = fields[i + 1]!;
        tx.xadd(deadLetterStream, '*', entry, {
          trim: { type: 'MAXLEN', threshold: deadLetterMaxLen, comparison: '~' },
        });
      }
      tx.xack(stream, group, entryIds);
      const replies = await tx.exec({ keepErrors: true });
      const failed = replies.find((r) => r.error);
      return failed ? { confirmed: false, cause: new Error(failed.error) } : { confirmed: true };
    },

    runScript: (script, keys, args) => redis.eval(script, keys, args),
  };
}

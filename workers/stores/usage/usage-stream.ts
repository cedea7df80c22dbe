import type { Redis } from '@upstash/redis';
import { USAGE_STREAM } from '../../../shared/redis-keys.ts';
import { type UsageEvent, usageStreamFields } from '../../../shared/usage/event.ts';

/** The producer half of the usage stream: one append per event, refused once the stream is at its bound. */
export interface UsageStream {
  /** Resolves once Redis holds the entry; rejects when it does not (unreachable, timed out, or full). */
  append(event: UsageEvent): Promise<void>;
}

/** The reply prefix of an append the stream refused because it holds `maxLength` entries. */
const FULL = 'USAGE_STREAM_FULL';

/**
 * XLEN and XADD in one script, so the bound holds however many edges append at once. No MAXLEN: a producer
 * that trims removes the oldest entries whether or not the drain has acknowledged them, so only the drain
 * trims, and only what it has acknowledged (`drizzle/pipeline/trim-acknowledged.ts`).
 */
const APPEND = `local length = redis.call('XLEN', KEYS[1])
if length >= tonumber(ARGV[1]) then
  return redis.error_reply('${FULL} the usage stream holds ' .. length .. ' entries')
end
return redis.call('XADD', KEYS[1], '*', ARGV[2], ARGV[3], ARGV[4], ARGV[5])`;

/**
 * Whether an append was refused because the stream is at its bound (rather than Redis being unreachable). Matched
 * on the reply with its count: `@upstash/redis` appends the command, script text included, to every error.
 */
const FULL_REPLY = new RegExp(`${FULL} the usage stream holds \\d+ entries`);

export function isStreamFull(err: unknown): boolean {
  return err instanceof Error && FULL_REPLY.test(err.message);
}

/**
 * `EVAL` of the guarded append through `@upstash/redis`: the fields of `usageStreamFields` under `*`, unless
 * `XLEN` has reached `maxLength`. Appends issued in one tick share one HTTP round trip (auto-pipelining). The
 * client's own timeout (`REDIS_TIMEOUT_MS`) bounds each one. `key` is for tests that keep a stream of their own.
 */
export function createRedisUsageStream(
  redis: Pick<Redis, 'eval'>,
  options: { maxLength: number; key?: string },
): UsageStream {
  const key = options.key ?? USAGE_STREAM;
  return {
    async append(event) {
      const fields = usageStreamFields(event).flat();
      await redis.eval(APPEND, [key], [String(options.maxLength), ...fields]);
    },
  };
}

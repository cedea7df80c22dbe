import { upstashUsageStream } from '../../../drizzle/pipeline/stream-upstash.ts';
import { type PassResult, UsageDrain } from '../../../drizzle/pipeline/usage-drain.ts';
import type { UsageStreamClient } from '../../../drizzle/pipeline/usage-stream.ts';
import type { EdgeConfig } from '../../../shared/config/edge.ts';
import { loadConfig } from '../../../shared/config/load.ts';
import { edgeUsageDrainConfigSchema } from '../../../shared/config/pipeline.ts';
import { USAGE_CONSUMER_GROUP, USAGE_DEAD_LETTER_STREAM, USAGE_STREAM } from '../../../shared/redis-keys.ts';
import { stringBindings } from '../../config.ts';
import type { EdgeLogger } from '../../observability/logger.ts';
import type { DatabaseSource } from '../database/database-source.ts';

export interface UsageDrainPassDeps {
  env: Record<string, unknown>;
  config: Pick<EdgeConfig, 'UPSTASH_REDIS_REST_URL' | 'UPSTASH_REDIS_REST_TOKEN'>;
  database: DatabaseSource | null;
  logger: EdgeLogger;
  /** Test seam: the stream client (default: @upstash/redis on the edge's REST URL and token). */
  stream?: UsageStreamClient;
}

export type UsageDrainPassOutcome = { ran: true; pass: PassResult } | { ran: false; reason: string };

/**
 * The Cron Trigger's usage drain: one bounded pass of the same `UsageDrain` the Node process runs, over
 * `@upstash/redis` (REST: no Redis socket outlives an invocation) and the edge's Postgres through the Neon
 * driver, one connection for the pass. Rounds go on until the stream is empty for this consumer, or
 * `USAGE_DRAIN_PASS_MS` or `USAGE_DRAIN_PASS_ROUNDS` is reached; what is left waits for the next minute. A
 * failing round throws (nothing of it acked, so the Workers dashboard shows the failed invocation); the rounds
 * before it stay written and acked.
 */
export async function runScheduledUsageDrain(deps: UsageDrainPassDeps): Promise<UsageDrainPassOutcome> {
  const config = loadConfig(edgeUsageDrainConfigSchema, stringBindings(deps.env), 'usage drain (cron)');
  if (!config.USAGE_DRAIN_CRON) return { ran: false, reason: 'USAGE_DRAIN_CRON is false' };
  const url = deps.config.UPSTASH_REDIS_REST_URL;
  if (!deps.database || !url) {
    const missing = [deps.database ? null : 'DATABASE_URL', url ? null : 'UPSTASH_REDIS_REST_URL'];
    const reason = `the usage drain needs ${missing.filter(Boolean).join(' and ')}`;
    // Without Redis the edge writes usage to Postgres itself: there is nothing to drain.
    deps.logger.info({ reason }, 'scheduled: usage drain skipped');
    return { ran: false, reason };
  }
  const stream =
    deps.stream ??
    upstashUsageStream({
      url,
      token: deps.config.UPSTASH_REDIS_REST_TOKEN ?? '',
      timeoutMs: config.USAGE_DRAIN_REDIS_TIMEOUT_MS,
    });
  const pass = await deps.database.use((handle) => {
    const drain = new UsageDrain({
      redis: stream,
      db: handle.primary,
      stream: USAGE_STREAM,
      deadLetterStream: USAGE_DEAD_LETTER_STREAM,
      group: USAGE_CONSUMER_GROUP,
      consumer: config.USAGE_DRAIN_CONSUMER,
      batchSize: config.USAGE_DRAIN_BATCH,
      // A pass never waits for new entries: it ends when the stream is empty.
      blockMs: 0,
      claimIdleMs: config.USAGE_DRAIN_CLAIM_IDLE_MS,
      // Once per pass (its first round): a pass is shorter than any useful claim interval.
      claimIntervalMs: config.USAGE_DRAIN_PASS_MS,
      // No backoff inside a pass: a failing round ends it, and the next invocation retries.
      backoffMinMs: 1,
      backoffMaxMs: 1,
      deadLetterMaxLen: config.USAGE_DEAD_LETTER_MAXLEN,
      logger: deps.logger,
    });
    return drain.runPass({ maxRounds: config.USAGE_DRAIN_PASS_ROUNDS, maxMs: config.USAGE_DRAIN_PASS_MS });
  });
  const summary = { ...pass };
  if (pass.drained) deps.logger.info(summary, 'scheduled: usage drain pass done');
  else
    deps.logger.warn(summary, 'scheduled: usage drain pass hit its bound; the rest waits for the next one');
  return { ran: true, pass };
}

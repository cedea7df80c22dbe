import { z } from 'zod';
import { USAGE_CONSUMER_GROUP, USAGE_DEAD_LETTER_STREAM, USAGE_STREAM } from '../redis-keys.ts';
import { bool, int } from './fields.ts';

/**
 * The usage drain job's configuration (`tsx scripts/jobs/usage-drain.ts`). Each field's `.describe()` is its
 * documentation (`npm run docs:config`).
 */
export const pipelineConfigSchema = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .describe(
      '`redis://` or `rediss://` URL of the Redis holding the usage stream (the Redis protocol; Upstash databases accept it too).',
    ),
  USAGE_STREAM: z.string().min(1).default(USAGE_STREAM).describe('Stream to read.'),
  USAGE_DEAD_LETTER_STREAM: z
    .string()
    .min(1)
    .default(USAGE_DEAD_LETTER_STREAM)
    .describe('Where entries that cannot be written go, with the reason.'),
  USAGE_DRAIN_GROUP: z.string().min(1).default(USAGE_CONSUMER_GROUP).describe('Consumer group.'),
  USAGE_DRAIN_CONSUMER: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Consumer name inside the group; give each replica its own so their pending lists stay apart. Unset: the host name.',
    ),
  USAGE_DRAIN_BATCH: int(1, 1000)
    .default(500)
    .describe(
      "Entries per XREADGROUP and per INSERT (13 parameters per row keeps 1000 rows well under Postgres' 65535).",
    ),
  USAGE_DRAIN_BLOCK_MS: int(0, 60_000)
    .default(2000)
    .describe(
      'How long one XREADGROUP waits for new entries before the loop turns (and checks for stop), in milliseconds.',
    ),
  USAGE_DRAIN_CLAIM_IDLE_MS: int(1000)
    .default(60_000)
    .describe(
      'Pending entries idle longer than this, in milliseconds, belong to a crashed consumer and are claimed (XAUTOCLAIM).',
    ),
  USAGE_DRAIN_CLAIM_INTERVAL_MS: int(1000)
    .default(30_000)
    .describe('How often the running drain looks for such entries (also once at start), in milliseconds.'),
  USAGE_DRAIN_BACKOFF_MIN_MS: int(1)
    .default(250)
    .describe(
      'Lower bound of the backoff (exponential, full jitter) while Postgres or Redis is down, in milliseconds; nothing is acked meanwhile.',
    ),
  USAGE_DRAIN_BACKOFF_MAX_MS: int(1)
    .default(30_000)
    .describe('Upper bound of that backoff, in milliseconds.'),
  USAGE_DEAD_LETTER_MAXLEN: int(1)
    .default(100_000)
    .describe('Approximate cap on the dead-letter stream (entries).'),
  LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .default('info')
    .describe('pino log level.'),
});

/**
 * The usage drain pass the edge Worker's Cron Trigger runs (`scheduled`, every minute in `wrangler.toml`), over
 * the edge's own `UPSTASH_REDIS_REST_*` and `DATABASE_URL`. Stream and group names are the ones the edge writes
 * to and the Node drain reads with, so both drains share one consumer group. Each field's `.describe()` is its
 * documentation.
 */
export const edgeUsageDrainConfigSchema = pipelineConfigSchema
  .pick({ USAGE_DRAIN_BATCH: true, USAGE_DRAIN_CLAIM_IDLE_MS: true, USAGE_DEAD_LETTER_MAXLEN: true })
  .extend({
    USAGE_DRAIN_CRON: bool
      .default(true)
      .describe(
        'Whether each Cron Trigger invocation also runs a usage drain pass (it needs `UPSTASH_REDIS_REST_URL` and `DATABASE_URL`; without either it is skipped with a log line). `false` where an always-on Node drain (`npm run usage:drain`) does the work alone.',
      ),
    USAGE_DRAIN_PASS_MS: int(1_000, 600_000)
      .default(20_000)
      .describe(
        'Wall-clock bound on one pass, in milliseconds: no round starts after it (the round in progress finishes and acks). Keep it well under the cron interval (60 s) so passes never overlap.',
      ),
    USAGE_DRAIN_PASS_ROUNDS: int(1, 10_000)
      .default(200)
      .describe(
        'Rounds (batches of `USAGE_DRAIN_BATCH`) per pass at most. A round is two Upstash REST calls (the read, then one MULTI with the acks), the first of a pass a few more (its own pending entries, XAUTOCLAIM); the pass holds one Postgres connection. 200 rounds of 500 is 100,000 events a pass.',
      ),
    USAGE_DRAIN_CONSUMER: z
      .string()
      .min(1)
      .default('edge-cron')
      .describe(
        "Consumer name of the Worker's drain in the group; one name for every invocation, so a pass re-reads what a failed one left pending.",
      ),
    USAGE_DRAIN_REDIS_TIMEOUT_MS: int(100, 60_000)
      .default(5_000)
      .describe("Bound on each of the pass's Upstash REST calls, in milliseconds."),
  });

/**
 * Partition maintenance (`npm run cli -- partitions run`, `tsx scripts/jobs/partitions.ts`). Each field's
 * `.describe()` is its documentation.
 */
export const partitionsConfigSchema = z.object({
  PARTITIONS_MONTHS_AHEAD: int(1, 120)
    .default(3)
    .describe('Monthly partitions kept ready after the current month.'),
  USAGE_RETENTION_MONTHS: int(0, 1200)
    .default(13)
    .describe(
      'Whole months of usage kept before the current one; older `usage_events` and `usage_rollups` partitions are detached (the rollup totals the edge metrics serve are kept). `0` keeps everything.',
    ),
  AUDIT_RETENTION_MONTHS: int(0, 1200)
    .default(0)
    .describe('The same for the audit log; `0` (the default) keeps everything.'),
  PARTITIONS_RETENTION_MODE: z
    .enum(['archive', 'drop'])
    .default('archive')
    .describe(
      '`archive` detaches a retired partition and moves it into the `archive` schema (still queryable); `drop` detaches and deletes it.',
    ),
});

export type PartitionsConfig = z.infer<typeof partitionsConfigSchema>;

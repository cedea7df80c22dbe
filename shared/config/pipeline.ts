import { z } from 'zod';
import { USAGE_CONSUMER_GROUP, USAGE_DEAD_LETTER_STREAM, USAGE_STREAM } from '../redis-keys.ts';
import { int } from './fields.ts';

/**
 * The usage drain job's configuration (`npm run cli -- usage drain`, `tsx scripts/jobs/usage-drain.ts`).
 * Documented in the README under "Usage and audit pipeline".
 */
export const pipelineConfigSchema = z.object({
  /** Redis protocol URL (redis:// or rediss://); Upstash databases also accept this protocol. */
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
  USAGE_STREAM: z.string().min(1).default(USAGE_STREAM),
  USAGE_DEAD_LETTER_STREAM: z.string().min(1).default(USAGE_DEAD_LETTER_STREAM),
  USAGE_DRAIN_GROUP: z.string().min(1).default(USAGE_CONSUMER_GROUP),
  /** Consumer name inside the group; give each replica its own so their pending lists stay apart. */
  USAGE_DRAIN_CONSUMER: z.string().min(1).optional(),
  /** Entries per XREADGROUP and per INSERT. 13 parameters per row keeps 1000 rows well under pg's 65535. */
  USAGE_DRAIN_BATCH: int(1, 1000).default(500),
  /** How long one XREADGROUP waits for new entries before the loop turns (and checks for stop). */
  USAGE_DRAIN_BLOCK_MS: int(0, 60_000).default(2000),
  /** Pending entries idle longer than this belong to a crashed consumer and are claimed. */
  USAGE_DRAIN_CLAIM_IDLE_MS: int(1000).default(60_000),
  /** How often the running drain looks for such entries (also once at start). */
  USAGE_DRAIN_CLAIM_INTERVAL_MS: int(1000).default(30_000),
  /** Backoff bounds while Postgres is unreachable; nothing is acked meanwhile. */
  USAGE_DRAIN_BACKOFF_MIN_MS: int(1).default(250),
  USAGE_DRAIN_BACKOFF_MAX_MS: int(1).default(30_000),
  /** Approximate cap on the dead-letter stream. */
  USAGE_DEAD_LETTER_MAXLEN: int(1).default(100_000),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;

/** Partition maintenance (`npm run cli -- partitions run`, `tsx scripts/jobs/partitions.ts`). */
export const partitionsConfigSchema = z.object({
  /** Monthly partitions kept ready ahead of the current month. */
  PARTITIONS_MONTHS_AHEAD: int(1, 120).default(3),
  /** Whole months of usage kept besides the current one; older partitions are detached. 0 keeps everything. */
  USAGE_RETENTION_MONTHS: int(0, 1200).default(13),
  AUDIT_RETENTION_MONTHS: int(0, 1200).default(0),
  /** `archive` detaches and moves the partition into the `archive` schema; `drop` deletes it. */
  PARTITIONS_RETENTION_MODE: z.enum(['archive', 'drop']).default('archive'),
});

export type PartitionsConfig = z.infer<typeof partitionsConfigSchema>;

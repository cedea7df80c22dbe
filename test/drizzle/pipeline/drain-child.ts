/**
 * The usage drain in a process of its own, so a test can kill it at an exact point of a batch:
 * CRASH_AT=before-commit exits inside the INSERT's transaction (Postgres rolls it back when the connection
 * drops), CRASH_AT=after-commit exits after COMMIT and before XACK. Without CRASH_AT it drains until a round
 * finds nothing and prints its stats as JSON.
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { ioredisUsageStream } from '../../../drizzle/pipeline/stream-ioredis.ts';
import { UsageDrain } from '../../../drizzle/pipeline/usage-drain.ts';

const env = process.env;
const crashAt = env['CRASH_AT'];
const pool = new pg.Pool({ connectionString: env['DATABASE_URL'], max: 1 });
const redis = new Redis(env['REDIS_URL']!, { maxRetriesPerRequest: 1 });

const drain = new UsageDrain({
  redis: ioredisUsageStream(redis),
  db: drizzle(pool),
  stream: env['STREAM']!,
  deadLetterStream: `${env['STREAM']}:dead`,
  group: 'usage-drain',
  consumer: env['CONSUMER'] ?? 'child',
  batchSize: Number(env['BATCH'] ?? 50),
  blockMs: 0,
  claimIdleMs: Number(env['CLAIM_IDLE_MS'] ?? 60_000),
  claimIntervalMs: 60_000,
  backoffMinMs: 10,
  backoffMaxMs: 100,
  deadLetterMaxLen: 1000,
  logger: pino({ level: 'silent' }),
  hooks: {
    beforeCommit: () => {
      if (crashAt === 'before-commit') process.exit(86);
    },
    afterCommit: () => {
      if (crashAt === 'after-commit') process.exit(87);
    },
  },
});

for (let round = 0; round < 1000; round += 1) {
  const result = await drain.runOnce();
  if (result.entries === 0) break;
}
process.stdout.write(`${JSON.stringify(drain.stats())}\n`);
await pool.end();
redis.disconnect();

/**
 * The usage drain job: `npm run usage:drain [-- --once]` (`tsx scripts/jobs/usage-drain.ts`), also the child
 * `npm start` runs when REDIS_URL is set. Reads REDIS_URL, USAGE_DRAIN_* and the DATABASE_* variables
 * (docs/reference/configuration.md; docs/guides/operating.md, "The usage drain"). Runs until SIGTERM/SIGINT,
 * finishing the batch in hand; `--once` drains what is there and exits (for a cron schedule). Exit codes: 0
 * done, 2 bad configuration, 5 Postgres or Redis down during a --once run (nothing acked), 1 anything else.
 */
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createDatabase } from '../../drizzle/client/client.ts';
import { ioredisUsageStream } from '../../drizzle/pipeline/stream-ioredis.ts';
import { UsageDrain } from '../../drizzle/pipeline/usage-drain.ts';
import { loadDataConfig } from '../../shared/config/data.ts';
import { ConfigError, loadConfig } from '../../shared/config/load.ts';
import { pipelineConfigSchema } from '../../shared/config/pipeline.ts';
import { resolveCliEnv } from '../cli/context.ts';
import { EXIT } from '../cli/errors.ts';

/** Postgres refused the batch (the drain says so), or ioredis gave up on an unreachable Redis. */
function dependencyDown(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string };
  return (
    e.code === 'DEPENDENCY_UNAVAILABLE' ||
    e.code === 'ECONNREFUSED' ||
    e.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|ECONNREFUSED/.test(e.message ?? '')
  );
}

async function main(): Promise<number> {
  const once = process.argv.includes('--once');
  // Installed first: a stop asked for while connecting still ends with the batch in hand acked, not a kill.
  const stop = new AbortController();
  const stopRequested = new Promise<void>((resolve) => {
    stop.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  // `on`, not `once`: a stop signal to the whole process group (a terminal, systemd's control-group kill) reaches
  // this process twice, once directly and once relayed by tsx; a second copy without a handler would kill it
  // mid-stop, before its last batch is acknowledged.
  process.on('SIGTERM', () => stop.abort());
  process.on('SIGINT', () => stop.abort());
  const env = resolveCliEnv(process.env);
  let config: ReturnType<typeof loadConfig<typeof pipelineConfigSchema>>;
  let dataConfig: ReturnType<typeof loadDataConfig>;
  try {
    config = loadConfig(pipelineConfigSchema, env, 'usage drain');
    dataConfig = loadDataConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
  const logger = pino({
    level: config.LOG_LEVEL,
    base: { service: 'aiserve-usage-drain' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
  const database = await createDatabase(dataConfig, {
    onSlowQuery: (e) => logger.warn({ ...e }, 'slow query'),
  });
  // Commands fail fast while Redis is down (the drain backs off and retries) instead of queueing forever.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: false });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const consumer = config.USAGE_DRAIN_CONSUMER ?? hostname();
  const drain = new UsageDrain({
    redis: ioredisUsageStream(redis),
    db: database.primary,
    stream: config.USAGE_STREAM,
    deadLetterStream: config.USAGE_DEAD_LETTER_STREAM,
    group: config.USAGE_DRAIN_GROUP,
    consumer,
    batchSize: config.USAGE_DRAIN_BATCH,
    blockMs: once ? 0 : config.USAGE_DRAIN_BLOCK_MS,
    claimIdleMs: config.USAGE_DRAIN_CLAIM_IDLE_MS,
    claimIntervalMs: config.USAGE_DRAIN_CLAIM_INTERVAL_MS,
    backoffMinMs: config.USAGE_DRAIN_BACKOFF_MIN_MS,
    backoffMaxMs: config.USAGE_DRAIN_BACKOFF_MAX_MS,
    deadLetterMaxLen: config.USAGE_DEAD_LETTER_MAXLEN,
    logger,
  });
  try {
    if (once) {
      // Bounded: a producer faster than the drain must not keep a cron run alive forever.
      const pass = await drain.runPass({
        maxRounds: 10_000,
        maxMs: Number.POSITIVE_INFINITY,
        signal: stop.signal,
      });
      logger.info({ ...drain.stats(), drained: pass.drained, rounds: pass.rounds }, 'usage drain finished');
      return EXIT.OK;
    }
    await drain.start();
    logger.info(
      { stream: config.USAGE_STREAM, group: config.USAGE_DRAIN_GROUP, consumer },
      'usage drain started',
    );
    await stopRequested;
    await drain.stop();
    logger.info(drain.stats(), 'usage drain stopped');
    return EXIT.OK;
  } catch (err) {
    logger.error({ err }, 'usage drain failed');
    return dependencyDown(err) ? EXIT.UNAVAILABLE : EXIT.INTERNAL;
  } finally {
    redis.disconnect();
    await database.close();
  }
}

process.exit(await main());

/**
 * Partition maintenance job: `tsx scripts/jobs/partitions.ts [--dry-run]` (the same as
 * `npm run cli -- partitions run`), for a daily cron. Prints one JSON line per action. Exit codes: 0 done,
 * 2 bad configuration, 5 database unreachable, 1 anything else.
 */

import { createDatabase } from '../../drizzle/client/client.ts';
import { runPartitionMaintenance } from '../../drizzle/maintenance/partitions.ts';
import { loadDataConfig } from '../../shared/config/data.ts';
import { ConfigError, loadConfig } from '../../shared/config/load.ts';
import { partitionsConfigSchema } from '../../shared/config/pipeline.ts';
import { resolveCliEnv } from '../cli/context.ts';
import { databaseProblem, EXIT } from '../cli/errors.ts';

async function main(): Promise<number> {
  const env = resolveCliEnv(process.env);
  let config: ReturnType<typeof loadConfig<typeof partitionsConfigSchema>>;
  let dataConfig: ReturnType<typeof loadDataConfig>;
  try {
    config = loadConfig(partitionsConfigSchema, env, 'partition maintenance');
    dataConfig = loadDataConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
  const database = await createDatabase(dataConfig);
  try {
    const result = await runPartitionMaintenance(database.primary, config, {
      dryRun: process.argv.includes('--dry-run'),
    });
    for (const action of result.actions)
      process.stdout.write(`${JSON.stringify({ ...action, dryRun: result.dryRun })}\n`);
    return EXIT.OK;
  } catch (err) {
    const problem = databaseProblem(err, dataConfig.DATABASE_URL);
    process.stderr.write(`error: ${problem ?? (err instanceof Error ? err.message : String(err))}\n`);
    return problem ? EXIT.UNAVAILABLE : EXIT.INTERNAL;
  } finally {
    await database.close();
  }
}

process.exit(await main());

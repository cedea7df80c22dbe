/**
 * `npm run db:migrate`: applies drizzle/migrations to DATABASE_URL (embedded PGlite in .data/pglite when
 * unset). Exit 0 when the schema is current, 2 on bad configuration, 5 when the database cannot be reached.
 */

import { createDatabase } from '../../drizzle/client/client.ts';
import { migrateDatabase } from '../../drizzle/migrate.ts';
import { loadDataConfig } from '../../shared/config/data.ts';
import { ConfigError } from '../../shared/config/load.ts';
import { databaseProblem, describeDatabase, EXIT } from '../cli/errors.ts';

async function main(): Promise<number> {
  let config: ReturnType<typeof loadDataConfig>;
  try {
    config = loadDataConfig({ DATABASE_CONNECT_TIMEOUT_MS: '5000', ...process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
  const where = describeDatabase(config.DATABASE_URL);
  const handle = await createDatabase(config);
  try {
    await migrateDatabase(handle.primary);
    process.stdout.write(`migrations applied to ${where}\n`);
    return EXIT.OK;
  } catch (err) {
    const problem = databaseProblem(err, config.DATABASE_URL);
    process.stderr.write(
      `error: ${problem ?? `migration failed on ${where}: ${err instanceof Error ? err.message : String(err)}`}\n`,
    );
    return problem ? EXIT.UNAVAILABLE : EXIT.INTERNAL;
  } finally {
    await handle.close();
  }
}

process.exit(await main());

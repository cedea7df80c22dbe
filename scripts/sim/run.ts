/** `npm run sim -- --trace <file> [--out bench/results]`: one trace against the autoscaler and a static fleet. */

import { UsageError } from '../usage-error.ts';
import { configFromEnv, parseArgs, printRun, runTraceFile } from './cli.ts';

try {
  const args = parseArgs(process.argv.slice(2), ['trace', 'out']);
  if (!args['trace'])
    throw new UsageError('--trace <file> is required (shipped traces: bench/sim/traces/*.json)');
  const run = await runTraceFile(args['trace'], args['out'] ?? 'bench/results', configFromEnv(process.env));
  printRun(run);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  console.error('usage: npm run sim -- --trace <file> [--out <dir>]');
  process.exitCode = 2;
}

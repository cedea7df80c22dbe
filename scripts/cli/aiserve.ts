/**
 * `npm run cli -- <group> <command> [arguments] [--json] [--help]`: tenants, keys, models, and the groups
 * other areas register in commands/index.ts. Exit codes are listed in scripts/cli/errors.ts and docs/reference/cli.md.
 */
import { commandGroups } from './commands/index.ts';
import { runCli } from './run.ts';

const code = await runCli(process.argv.slice(2), commandGroups, {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
});
// Exit explicitly: stdout and stderr are synchronous on pipes and files, and nothing else is pending.
process.exit(code);

import { runCli } from '../../../../scripts/cli/run.ts';
import type { CommandGroup } from '../../../../scripts/cli/types.ts';

/** Runs one CLI invocation in-process against `databaseUrl`, capturing stdout, stderr and the exit code. */
export async function cli(
  groups: CommandGroup[],
  databaseUrl: string,
  argv: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, groups, {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    // No local.json fallback and no inherited database settings: only what the test passes.
    env: {
      DATABASE_URL: databaseUrl,
      AISERVE_LOCAL_FILE: '/nonexistent/local.json',
      DATABASE_SLOW_QUERY_MS: '0',
      ...env,
    },
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

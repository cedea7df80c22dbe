import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment a spawned command sees: the parent's, minus anything that would point it elsewhere. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('DATABASE_') || k.startsWith('UPSTASH_') || k === 'NEON_WS_PROXY')
      continue;
    env[k] = v;
  }
  // Never pick up a running local stack's .aiserve/local.json.
  return { ...env, AISERVE_LOCAL_FILE: '/nonexistent/aiserve-local.json', ...extra };
}

/** Spawns a real TypeScript entry point (`node --import tsx <script> …args`) from the repository root. */
export function runScript(script: string, args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, ...args],
      { cwd: ROOT, env: cleanEnv(env), timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export const cli = (args: string[], env: Record<string, string>) =>
  runScript('scripts/cli/aiserve.ts', args, env);

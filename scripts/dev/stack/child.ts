import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where prefixed output lines go (default: this process' stdout). */
  write?: (line: string) => void;
}

export interface Child {
  name: string;
  pid: number;
  /** Exit code (or 128 + signal number) once the process has exited; null while it runs. */
  exitCode(): number | null;
  exited: Promise<number>;
  /**
   * SIGTERM to the child's whole process group (wrangler's workerd, tsx's node), then SIGKILL to what is left
   * after `graceMs`. Resolves when the child has exited.
   */
  stop(graceMs: number): Promise<number>;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Starts a child in its own process group: a terminal Ctrl-C reaches only `npm start`, which then stops the
 * children in order (edge before origin before databases) instead of all dying at once. Output lines are
 * prefixed with the child's name.
 */
export function startChild(options: ChildOptions): Child {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const proc: ChildProcess = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`could not start ${options.name} (${options.command})`);
  const pid = proc.pid;
  for (const stream of [proc.stdout, proc.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => write(`[${options.name}] ${line}\n`));
  }
  let code: number | null = null;
  const exited = new Promise<number>((resolve) => {
    proc.on('exit', (c, signal) => {
      code = c ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0);
      resolve(code);
    });
    proc.on('error', (err) => {
      write(`[${options.name}] failed to start: ${err.message}\n`);
      code = 127;
      resolve(code);
    });
  });

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is already gone.
    }
  };

  return {
    name: options.name,
    pid,
    exitCode: () => code,
    exited,
    async stop(graceMs: number) {
      signalGroup('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          signalGroup('SIGKILL');
          resolve();
        }, graceMs);
      });
      await Promise.race([exited, killed]);
      clearTimeout(timer);
      const result = await exited;
      // Grandchildren that outlived the leader (a workerd whose wrangler already exited) go too.
      signalGroup('SIGKILL');
      return result;
    },
  };
}

/** Bounded poll of an HTTP endpoint until `ok(res)`; fails early if the child it belongs to has exited. */
export async function waitForHttp(
  url: string,
  opts: { child?: Child; timeoutMs: number; ok?: (res: Response) => boolean | Promise<boolean> },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const ok = opts.ok ?? ((res: Response) => res.ok);
  let last = 'no answer';
  while (Date.now() < deadline) {
    const code = opts.child?.exitCode();
    if (code !== null && code !== undefined) {
      throw new Error(`${opts.child!.name} exited with code ${code} during start-up`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (await ok(res)) return;
      last = `HTTP ${res.status}`;
      await res.body?.cancel();
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `${opts.child?.name ?? url} not ready at ${url} after ${opts.timeoutMs} ms (last: ${last})`,
  );
}

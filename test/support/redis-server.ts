import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { freePort } from '../../scripts/dev/stack/free-port.ts';

/** Whether the `redis-server` binary is installed (suites that need a Redis of their own skip without it). */
export const hasRedisServer = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * A private redis-server on a free port, without persistence: `restartEmpty()` stops it and starts a new one on
 * the same port, which is what a Redis that lost its data looks like to its clients (connections drop, every key
 * is gone, the consumer groups with them). The shared Redis on 6379 is never touched.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  restartEmpty(): Promise<void>;
  stop(): Promise<void>;
}

async function spawnRedis(port: number): Promise<ChildProcess> {
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' });
      return proc;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  proc.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${port}`);
}

async function stopRedis(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let proc = await spawnRedis(port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restartEmpty() {
      await stopRedis(proc);
      proc = await spawnRedis(port);
    },
    stop: () => stopRedis(proc),
  };
}

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { freePort } from '../../scripts/dev/stack/free-port.ts';

/** Whether `redis-server` is on the PATH (suites that stop their own Redis skip without it). */
export const hasRedisServer = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * A redis-server of the test's own on 127.0.0.1 (no persistence), which the test may stop and start again on
 * the same port; the shared Redis on 6379 is left alone. A restarted one is empty, as after a crash.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  /** Stops it (SIGTERM, waits for the exit); a no-op when it is stopped. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it answers PING. */
  start(): Promise<void>;
  /** stop() then start(): what a Redis that lost its data looks like to its clients (every key and group gone). */
  restartEmpty(): Promise<void>;
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

export async function startPrivateRedis(port?: number): Promise<PrivateRedis> {
  const chosen = port ?? (await freePort());
  let proc: ChildProcess | null = await spawnRedis(chosen);
  const redis: PrivateRedis = {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    async stop() {
      const running = proc;
      proc = null;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((r) => running.once('exit', r));
      running.kill('SIGTERM');
      await exited;
    },
    async start() {
      if (proc) return;
      proc = await spawnRedis(chosen);
    },
    async restartEmpty() {
      await redis.stop();
      await redis.start();
    },
  };
  return redis;
}

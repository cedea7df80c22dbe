import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../scripts/dev/stack/free-port.ts';

/** Whether `redis-server` is on the PATH (fault suites that need their own instance skip without it). */
export const hasRedisServer = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * A redis-server of one test's own on 127.0.0.1 and a free port, which the test may kill, restart (with its data
 * or empty) and hang (SIGSTOP/SIGCONT). The shared Redis on 6379 is never touched; only this child is signalled.
 * With `persist`, it writes an append-only file (fsync on every write) in a directory of its own, so a restart
 * after SIGKILL comes back with every write it had acknowledged.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  /** SIGKILL (hung or not), and wait for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port: with its data (`empty: false`) or with none (the data directory wiped). */
  restart(options: { empty: boolean }): Promise<void>;
  /** SIGSTOP: the socket stays open, nothing is answered. */
  hang(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stops it (SIGCONT first if hung) and removes its directory. */
  close(): Promise<void>;
}

async function waitForPing(port: number, proc: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${proc.exitCode}`);
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`redis-server on ${port} did not answer PING`);
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

export async function startPrivateRedis(options: { persist?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'aiserve-redis-'));
  const persist = options.persist ?? true;
  let proc: ChildProcess;
  let hung = false;

  const spawnServer = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
    // fsync always: with everysec, Redis may acknowledge a write up to about 2 s before it reaches the file
    // (while a background fsync runs), and SIGKILL would lose it; that loss is Redis', not the edge's.
    args.push('--appendonly', persist ? 'yes' : 'no', '--appendfsync', 'always');
    proc = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPing(port, proc);
  };
  await spawnServer();

  // SIGKILL ends a stopped process too, without letting it run the commands waiting on its sockets.
  const kill = async () => {
    const done = exited(proc);
    proc.kill('SIGKILL');
    await done;
    hung = false;
  };

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart({ empty }) {
      await kill();
      if (empty) {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
      }
      await spawnServer();
    },
    hang() {
      proc.kill('SIGSTOP');
      hung = true;
    },
    resume() {
      proc.kill('SIGCONT');
      hung = false;
    },
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) {
        if (hung) proc.kill('SIGCONT');
        const done = exited(proc);
        proc.kill('SIGTERM');
        await done;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../scripts/dev/stack/free-port.ts';

/** Whether `redis-server` is on the PATH (suites that need a Redis of their own skip without it). */
export const hasRedisServer = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * A redis-server of one test's own on 127.0.0.1 and a free port, which the test may stop and start again on the
 * same port, kill, restart (with its data or empty) and hang (SIGSTOP/SIGCONT). The shared Redis on 6379 is
 * never touched; only this child is signalled.
 *
 * Without `persist` (the default) it keeps nothing on disk, so any restart comes back empty, as after a crash.
 * With `persist`, it writes an append-only file (fsync on every write) in a directory of its own, so a restart
 * after SIGKILL comes back with every write it had acknowledged.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  /** SIGTERM (SIGCONT first if hung), and wait for the exit; a no-op when it is not running. */
  stop(): Promise<void>;
  /** SIGKILL (hung or not), as a crash would, and wait for the exit; a no-op when it is not running. */
  kill(): Promise<void>;
  /** Starts it again on the same port, with whatever data it kept, and waits until it answers PING; a no-op when it runs. */
  start(): Promise<void>;
  /** kill() then start(): with its data (`empty: false`) or with none (the data directory wiped). */
  restart(options: { empty: boolean }): Promise<void>;
  /** stop() then start() with the data directory wiped: what a Redis that lost its data looks like to its clients. */
  restartEmpty(): Promise<void>;
  /** SIGSTOP: the socket stays open, nothing is answered. */
  hang(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stops it (SIGCONT first if hung) and removes its directory. */
  close(): Promise<void>;
}

/**
 * Polls every 100 ms, as the helper the no-persistence suites used did: a restart then returns no sooner than
 * their clients' reconnects (the Upstash bridge's) have had time to land, which the workerd drain test relies on.
 */
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
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      client.disconnect();
    }
  }
  proc.kill('SIGKILL');
  throw new Error(`redis-server on ${port} did not answer PING`);
}

function running(proc: ChildProcess | null): proc is ChildProcess {
  return proc !== null && proc.exitCode === null && proc.signalCode === null;
}

function exited(proc: ChildProcess): Promise<void> {
  if (!running(proc)) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

export async function startPrivateRedis(options: { persist?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'aiserve-redis-'));
  const persist = options.persist ?? false;
  let proc: ChildProcess | null = null;
  let hung = false;

  const spawnServer = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
    // fsync always: with everysec, Redis may acknowledge a write up to about 2 s before it reaches the file
    // (while a background fsync runs), and SIGKILL would lose it; that loss is Redis', not the edge's.
    args.push('--appendonly', persist ? 'yes' : 'no', '--appendfsync', 'always');
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    proc = child;
    hung = false;
    await waitForPing(port, child);
  };

  const wipe = async () => {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
  };

  const redis: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const child = proc;
      if (!running(child)) return;
      if (hung) child.kill('SIGCONT');
      const done = exited(child);
      child.kill('SIGTERM');
      await done;
      hung = false;
    },
    // SIGKILL ends a stopped process too, without letting it run the commands waiting on its sockets.
    async kill() {
      const child = proc;
      if (!running(child)) return;
      const done = exited(child);
      child.kill('SIGKILL');
      await done;
      hung = false;
    },
    async start() {
      if (running(proc)) return;
      await spawnServer();
    },
    async restart({ empty }) {
      await redis.kill();
      if (empty) await wipe();
      await spawnServer();
    },
    async restartEmpty() {
      await redis.stop();
      await wipe();
      await spawnServer();
    },
    hang() {
      proc?.kill('SIGSTOP');
      hung = true;
    },
    resume() {
      proc?.kill('SIGCONT');
      hung = false;
    },
    // Teardown needs no data: a bounded SIGTERM, then SIGKILL. A redis-server whose final save fails refuses
    // SIGTERM and keeps running, which once held a suite's teardown past its timeout.
    async close() {
      const child = proc;
      if (running(child)) {
        if (hung) child.kill('SIGCONT');
        const done = exited(child);
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await done;
        clearTimeout(timer);
        hung = false;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  await spawnServer();
  return redis;
}

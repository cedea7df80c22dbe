import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/dev/stack/free-port.ts';

/**
 * A PostgreSQL and a Redis of a test's own, on ports of their own, that the test may stop and start again (an
 * outage) without touching the shared servers on 5432 and 6379. Each helper returns null when the server's
 * binaries are not installed; the suites skip then.
 */

function installed(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, ready: () => boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > until) throw new Error(`${what} did not come up in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface PrivateServer {
  /** `postgres://…` or `redis://…` on 127.0.0.1. */
  url: string;
  port: number;
  /** Stops it at once (connections cut), as a crash would. */
  stop(): Promise<void>;
  /** Starts it again on the same port, with the same data. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `initdb` into a temporary directory and `pg_ctl start` on a free port, trust authentication on 127.0.0.1.
 * PostgreSQL refuses to run as root: under root (CI containers) it runs as the `postgres` user.
 */
export async function startPrivatePostgres(): Promise<PrivateServer | null> {
  if (!installed('initdb', ['--version']) || !installed('pg_ctl', ['--version'])) return null;
  let owner: { uid: number; gid: number } | undefined;
  if (process.getuid?.() === 0) {
    try {
      owner = {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
      };
    } catch {
      return null;
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'aiserve-pg-'));
  if (owner) await chown(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const run = (command: string, args: string[]) =>
    execFileSync(command, args, { stdio: 'ignore', ...(owner ?? {}), cwd: dir });
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const start = async () => {
    run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
  };
  const stop = async () => {
    run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    async close() {
      try {
        await stop();
      } catch {
        // Already stopped.
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `redis-server` on a free port, no persistence. */
export async function startPrivateRedis(): Promise<PrivateServer | null> {
  if (!installed('redis-server', ['--version']) || !installed('redis-cli', ['--version'])) return null;
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await waitUntil('redis-server', () => installed('redis-cli', ['-p', String(port), 'ping']));
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, stop, close: stop };
}

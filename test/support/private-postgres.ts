import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../scripts/dev/stack/free-port.ts';

function onPath(binary: string): boolean {
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** initdb and postgres refuse to run as root: as root, they run as the `postgres` user (null when there is none). */
function serverUser(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

const asRoot = process.getuid?.() === 0;

/**
 * Whether `initdb` and `postgres` are on the PATH and, under root (CI containers), a `postgres` user exists to run
 * them as (suites that need a server of their own skip without them).
 */
export const hasPostgresServer = onPath('initdb') && onPath('postgres') && (!asRoot || serverUser() !== null);

/**
 * A PostgreSQL server of one test's own (initdb into a temporary directory, trust authentication, 127.0.0.1 and
 * a free port), which the test may stop and start again with its data. The shared server on 5432 is never
 * touched; only this postmaster is signalled. Stopping it is an immediate shutdown, as a crash would be.
 */
export interface PrivatePostgres {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<database>` */
  url(database?: string): string;
  /** Immediate shutdown (SIGQUIT to the postmaster): connections drop, as when the server dies. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

async function waitForConnect(url: string, proc: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`postgres exited with ${proc.exitCode}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await client.end().catch(() => {});
    }
  }
  throw new Error('postgres did not accept connections');
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'aiserve-pg-'));
  const data = join(dir, 'data');
  const user = asRoot ? serverUser() : null;
  if (asRoot && !user) throw new Error('running as root, and there is no postgres user to run PostgreSQL as');
  if (user) await chown(dir, user.uid, user.gid);
  // cwd: the server's own directory, which the postgres user can read even when the checkout is not.
  const as = { cwd: dir, ...(user ? { uid: user.uid, gid: user.gid } : {}) };
  execFileSync('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], {
    stdio: 'ignore',
    ...as,
  });
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let proc: ChildProcess;
  const start = async () => {
    proc = spawn(
      'postgres',
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        // fsync off only matters if the machine itself crashes; a commit still reaches the WAL before it is
        // acknowledged (synchronous_commit stays on), so an immediate shutdown loses no acknowledged row.
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
      ],
      { stdio: 'ignore', ...as },
    );
    await waitForConnect(url(), proc);
  };
  const stop = async () => {
    const done = exited(proc);
    proc.kill('SIGQUIT');
    await done;
  };
  await start();
  return {
    port,
    url,
    stop,
    start,
    async close() {
      const done = exited(proc);
      proc.kill('SIGINT');
      // Bounded: a fast shutdown that waits on a stuck client must not hold the suite's teardown.
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

import { fileURLToPath } from 'node:url';
import { createDatabase } from '../../drizzle/client/client.ts';
import { migrateDatabase } from '../../drizzle/migrate.ts';
import { createKey } from '../../drizzle/queries/keys.ts';
import { createTenant } from '../../drizzle/queries/tenants.ts';
import { createTempDatabase } from '../../fixtures/temp-database.ts';
import { startPglite } from '../../scripts/dev/pglite-server.ts';
import { type Child, startChild, waitForHttp } from '../../scripts/dev/stack/child.ts';
import { freePort } from '../../scripts/dev/stack/free-port.ts';
import { loadDataConfig } from '../../shared/config/data.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface BenchDatabase {
  url: string;
  /** `postgresql` (a fresh database on the local server) or `pglite` (in memory, when none answers). */
  kind: 'postgresql' | 'pglite';
  /** A key of a tenant whose limits the benchmark never reaches. */
  apiKey: string;
  drop(): Promise<void>;
}

/**
 * A migrated database with one tenant and key. The local PostgreSQL when it answers (a throw-away database),
 * else an in-memory PGlite behind its socket server, so the benchmark needs no server installed.
 */
export async function setUpDatabase(adminUrl: string, log: (line: string) => void): Promise<BenchDatabase> {
  let target: { url: string; drop(): Promise<void> };
  let kind: BenchDatabase['kind'];
  try {
    target = await createTempDatabase({ adminUrl, prefix: 'aiserve_bench_', connectTimeoutMs: 3_000 });
    kind = 'postgresql';
  } catch (err) {
    log(`PostgreSQL at ${adminUrl} unavailable (${(err as Error).message}); using in-memory PGlite`);
    const server = await startPglite({ dataDir: 'memory://bench' });
    target = { url: server.url, drop: () => server.close() };
    kind = 'pglite';
  }
  const handle = await createDatabase(
    loadDataConfig({ DATABASE_URL: target.url, DATABASE_DRIVER: 'pg', DATABASE_POOL_MAX: '2' }),
  );
  try {
    await migrateDatabase(handle.primary);
    const tenant = await createTenant(handle.primary, {
      name: 'bench',
      plan: 'enterprise',
      requestsPerMinute: 100_000_000,
      burst: 10_000_000,
    });
    const { key } = await createKey(handle.primary, { tenantId: tenant.id, name: 'bench', scopes: ['*'] });
    return { url: target.url, kind, apiKey: key, drop: target.drop };
  } catch (err) {
    await target.drop().catch(() => {});
    throw err;
  } finally {
    await handle.close();
  }
}

export interface Server {
  url: string;
  child: Child;
  /** The child's last output lines, for error reports. */
  tail(): string;
  stop(): Promise<void>;
}

function spawnTs(name: string, file: string, args: string[], env: NodeJS.ProcessEnv) {
  const lines: string[] = [];
  let onLine: ((line: string) => void) | undefined;
  const child = startChild({
    name,
    command: process.execPath,
    // BENCH_NODE_ARGS: extra Node flags for the servers (for example --cpu-prof to profile a run).
    args: [
      '--import',
      'tsx',
      ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      file,
      ...args,
    ],
    env,
    cwd: ROOT,
    write: (line) => {
      lines.push(line.trimEnd());
      if (lines.length > 40) lines.shift();
      onLine?.(line);
    },
  });
  return {
    child,
    tail: () => lines.join('\n'),
    setOnLine: (f: (line: string) => void) => {
      onLine = f;
    },
  };
}

/** One of `servers.ts`' helpers in its own process; resolves once it printed `ready <url>`. */
export async function startHelper(
  kind: 'bare' | 'bare-headers' | 'stub-origin' | 'bridge',
  env: NodeJS.ProcessEnv = {},
): Promise<Server> {
  const port = await freePort();
  const spawned = spawnTs(kind, 'bench/edge/servers.ts', [kind, String(port)], { ...process.env, ...env });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} did not start:\n${spawned.tail()}`)), 60_000);
    spawned.setOnLine((line) => {
      const m = /ready (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    spawned.child.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited with code ${code}:\n${spawned.tail()}`));
    });
  });
  return {
    url,
    child: spawned.child,
    tail: spawned.tail,
    stop: async () => void (await spawned.child.stop(5_000)),
  };
}

/** The edge as `npm run edge:node` runs it (workers/node.ts), with `env` as its whole configuration. */
export async function startNodeEdgeProcess(name: string, env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const spawned = spawnTs(name, 'workers/node.ts', [], {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    EDGE_HOST: '127.0.0.1',
    EDGE_PORT: String(port),
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/v2/health/live`, { child: spawned.child, timeoutMs: 60_000 });
  } catch (err) {
    await spawned.child.stop(2_000);
    throw new Error(`${(err as Error).message}\n${spawned.tail()}`);
  }
  return {
    url,
    child: spawned.child,
    tail: spawned.tail,
    stop: async () => void (await spawned.child.stop(5_000)),
  };
}

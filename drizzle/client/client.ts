import { withReplicas } from 'drizzle-orm/pg-core';
import type { DatabaseDriver, DataConfig } from '../../shared/config/data.ts';
import { consoleSlowQueryLog } from './slow-query.ts';
import { createStickyTracker, type StickyTracker } from './sticky.ts';
import type { Database, DriverConnection, SlowQueryLog } from './types.ts';

export type { Database, SlowQueryEntry } from './types.ts';

export interface CreateDatabaseOptions {
  /** Where slow queries go (default: one JSON line on stderr). */
  onSlowQuery?: SlowQueryLog;
  /** Neon under Node 20: the `ws` WebSocket constructor (workerd and Node 22 have a global one). */
  webSocket?: unknown;
  now?: () => number;
  /**
   * The sticky state `session(id)` uses. Default: the handle's own. A caller that opens a handle per use (the
   * edge on Workers) passes one tracker for all of them, so a write through one handle keeps the session's reads
   * on the primary in the next.
   */
  sticky?: StickyTracker;
}

export interface DatabaseHandle {
  /** Reads go to a random replica, writes to the primary (drizzle `withReplicas`); no stickiness. */
  db: Database;
  /** The primary alone: migrations, and reads that must see the latest write from any session. */
  primary: Database;
  replicas: Database[];
  driver: DatabaseDriver;
  /**
   * The same database seen by one logical session (an admin request's tenant, a CLI run, a job): after any
   * write through it, its reads go to the primary for DATABASE_STICKY_MS, so it reads its own writes even
   * when replicas lag. Without replicas it is simply the primary.
   */
  session(sessionId: string): Database;
  sticky: StickyTracker;
  /** Closes the primary's and every replica's connections; rejects (after trying all) if one did not close. */
  close(): Promise<void>;
}

// Methods that withReplicas already sends to the primary: calling one marks the session as having written.
// (`execute` may be a read, but it goes to the primary anyway; treating it as a write is the safe side.)
const WRITE_METHODS = [
  'insert',
  'update',
  'delete',
  'execute',
  'transaction',
  'refreshMaterializedView',
] as const;

/**
 * The primary behind a database: itself, or the `$primary` of a `withReplicas` one (the handle's `db` and
 * its session views). For reads whose caller acts on them at once and cannot afford replica lag.
 */
export function readsFromPrimary(db: Database): Database {
  return (db as Database & { $primary?: Database }).$primary ?? db;
}

async function connect(
  url: string,
  config: DataConfig,
  label: string,
  log: SlowQueryLog,
  options: CreateDatabaseOptions,
): Promise<DriverConnection> {
  switch (config.DATABASE_DRIVER) {
    case 'pg': {
      // Imported per driver so that a Workers bundle that only uses Neon never evaluates pg or PGlite.
      const { connectPg } = await import('./drivers/pg.ts');
      return connectPg(url, config, label, log);
    }
    case 'neon': {
      const { connectNeon } = await import('./drivers/neon.ts');
      return connectNeon(url, config, label, log, options.webSocket);
    }
    case 'pglite': {
      const { connectPglite } = await import('./drivers/pglite.ts');
      return connectPglite(url, config, log);
    }
  }
}

/**
 * The one database client factory. `DATABASE_URL` is the primary; `DATABASE_REPLICA_URLS` adds read
 * replicas through drizzle's `withReplicas`. Pool size, connection lifetime, connect and statement timeouts
 * and the slow-query threshold come from the config.
 */
export async function createDatabase(
  config: DataConfig,
  options: CreateDatabaseOptions = {},
): Promise<DatabaseHandle> {
  const log = options.onSlowQuery ?? consoleSlowQueryLog;
  const primaryConn = await connect(config.DATABASE_URL, config, 'primary', log, options);
  const replicaConns: DriverConnection[] = [];
  try {
    for (const [i, url] of config.DATABASE_REPLICA_URLS.entries()) {
      replicaConns.push(await connect(url, config, `replica-${i}`, log, options));
    }
  } catch (err) {
    await Promise.allSettled([primaryConn, ...replicaConns].map((c) => c.close()));
    throw err;
  }
  const primary = primaryConn.db;
  const replicas = replicaConns.map((c) => c.db);
  const sticky =
    options.sticky ??
    createStickyTracker({
      windowMs: config.DATABASE_STICKY_MS,
      ...(options.now ? { now: options.now } : {}),
    });
  const randomReplica = (list: Database[]) => list[Math.floor(Math.random() * list.length)]!;
  const [first, ...rest] = replicas;
  const db = first ? (withReplicas(primary, [first, ...rest]) as unknown as Database) : primary;

  const sessions = new Map<string, Database>();
  const session = (sessionId: string): Database => {
    if (!first) return primary;
    let s = sessions.get(sessionId);
    if (s) return s;
    const routed = withReplicas(primary, [first, ...rest], (list) =>
      sticky.isSticky(sessionId) ? primary : randomReplica(list),
    ) as unknown as Record<string, unknown>;
    for (const method of WRITE_METHODS) {
      const viaPrimary = routed[method] as (...args: unknown[]) => unknown;
      routed[method] = (...args: unknown[]) => {
        sticky.markWrite(sessionId);
        return viaPrimary(...args);
      };
    }
    s = routed as unknown as Database;
    // Session views are cheap closures; cap them so a stream of one-off ids cannot grow memory without bound.
    if (sessions.size >= 1000) sessions.delete(sessions.keys().next().value!);
    sessions.set(sessionId, s);
    return s;
  };

  let closed: Promise<void> | undefined;
  return {
    db,
    primary,
    replicas,
    driver: config.DATABASE_DRIVER,
    session,
    sticky,
    close() {
      // Every connection is closed even when one fails; the failure is then reported, not dropped: a pool
      // that did not close is a leak the caller should hear about.
      closed ??= Promise.allSettled([primaryConn, ...replicaConns].map((c) => c.close())).then((results) => {
        const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
        if (failures.length === 1) throw failures[0];
        if (failures.length > 1) throw new AggregateError(failures, 'database connections did not close');
      });
      return closed;
    },
  };
}

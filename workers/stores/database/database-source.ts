import { createDatabase, type DatabaseHandle } from '../../../drizzle/client/client.ts';
import { createStickyTracker, type StickyTracker } from '../../../drizzle/client/sticky.ts';
import type { DataConfig } from '../../../shared/config/data.ts';

/**
 * How the edge reaches Postgres, with the lifetime of a connection per runtime:
 *
 * - **Node** (`npm run edge:node`): one pooled handle for the process, opened on first use and closed by
 *   `close()`; the pool's idle timeout closes connections the traffic no longer needs.
 * - **Workers** (`perUse`): a socket opened while serving one request cannot be used by another, so each use
 *   opens its own handle (the Neon driver over WebSocket) and closes it before `use` settles, whether `fn`
 *   resolved or threw, so the connection never outlives the request (or the `waitUntil` task) that opened it.
 *   At most one connection per concurrent use is open; the key cache keeps uses off the hot path.
 *
 * Either way one sticky tracker serves every handle, so `handle.session(id)` reads a session's own writes from
 * the primary across uses (per process, per isolate on Workers).
 */
export interface DatabaseSource {
  use<T>(fn: (handle: DatabaseHandle) => Promise<T>): Promise<T>;
  /** The sticky state shared by every handle this source hands out. */
  readonly sticky: StickyTracker;
  close(): Promise<void>;
}

export interface DatabaseSourceOptions {
  perUse: boolean;
  webSocket?: unknown;
  /** A connection that did not close (default: one JSON line on stderr, as the slow-query log). */
  onCloseError?: (err: unknown) => void;
}

const logCloseError = (err: unknown) => {
  console.warn(JSON.stringify({ level: 'warn', msg: 'database connection did not close', err: String(err) }));
};

export function createDatabaseSource(config: DataConfig, options: DatabaseSourceOptions): DatabaseSource {
  const sticky = createStickyTracker({ windowMs: config.DATABASE_STICKY_MS });
  const open = () => createDatabase(config, { webSocket: options.webSocket, sticky });
  const onCloseError = options.onCloseError ?? logCloseError;
  if (options.perUse) {
    return {
      sticky,
      async use(fn) {
        const handle = await open();
        try {
          return await fn(handle);
        } finally {
          // Awaited, so the request (or waitUntil task) lasts until the socket is closed. A failure is
          // reported, never thrown over `fn`'s own outcome.
          await handle.close().catch(onCloseError);
        }
      },
      async close() {},
    };
  }
  let shared: Promise<DatabaseHandle> | null = null;
  return {
    sticky,
    async use(fn) {
      if (!shared) {
        shared = open();
        // A failed connect is not remembered: the next use tries again.
        shared.catch(() => {
          shared = null;
        });
      }
      return fn(await shared);
    },
    async close() {
      const handle = shared;
      shared = null;
      if (handle) await (await handle).close();
    },
  };
}

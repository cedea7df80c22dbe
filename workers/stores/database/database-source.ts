import { createDatabase, type DatabaseHandle } from '../../../drizzle/client/client.ts';
import type { DataConfig } from '../../../shared/config/data.ts';

/**
 * How the edge reaches Postgres. Under Node one pooled handle serves the process. In workerd a socket opened
 * while serving one request cannot be used by another, so each use opens a connection (the Neon driver over
 * WebSocket) and closes it afterwards; the key cache keeps this off the hot path.
 */
export interface DatabaseSource {
  use<T>(fn: (handle: DatabaseHandle) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function createDatabaseSource(
  config: DataConfig,
  options: { perUse: boolean; webSocket?: unknown },
): DatabaseSource {
  const open = () => createDatabase(config, { webSocket: options.webSocket });
  if (options.perUse) {
    return {
      async use(fn) {
        const handle = await open();
        try {
          return await fn(handle);
        } finally {
          await handle.close().catch(() => {});
        }
      },
      async close() {},
    };
  }
  let shared: Promise<DatabaseHandle> | null = null;
  return {
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

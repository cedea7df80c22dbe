import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LastKnownStore, Platform } from './platform.ts';

/**
 * Node has no `waitUntil`: background work runs detached, and is tracked so tests, benchmarks and shutdown
 * can wait for it (`settle()`); a rejected task is already handled by its producer.
 */
export function createNodePlatform(options: { now?: () => number } = {}) {
  const pending = new Set<Promise<unknown>>();
  const platform: Platform = {
    waitUntil(promise) {
      const tracked = promise.catch(() => {}).finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
    edgeCache: null,
    now: options.now ?? (() => Date.now()),
  };
  return {
    platform,
    /** Resolves when every background task started so far has finished. */
    async settle(): Promise<void> {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}

/**
 * The last-known store under Node: one JSON file per key in `dir` (created on the first write), so an edge
 * process started later on the same host, a restart included, finds what an earlier one wrote, as a new
 * isolate finds its location's Cache API entries on Workers. Written to a temporary file and renamed, so a
 * reader never sees half a value; an expired, unreadable or malformed file reads as null.
 */
export function fileLastKnownStore(dir: string, now: () => number = Date.now): LastKnownStore {
  const fileOf = (key: string) => join(dir, `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  return {
    async get(key) {
      let text: string;
      try {
        text = await readFile(fileOf(key), 'utf8');
      } catch {
        return null;
      }
      try {
        const entry = JSON.parse(text) as { expiresAt?: unknown; value?: unknown };
        if (typeof entry.expiresAt !== 'number' || typeof entry.value !== 'string') return null;
        return entry.expiresAt > now() ? entry.value : null;
      } catch {
        return null;
      }
    },
    async put(key, value, ttlSeconds) {
      await mkdir(dir, { recursive: true });
      const file = fileOf(key);
      const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(temporary, JSON.stringify({ expiresAt: now() + ttlSeconds * 1000, value }));
        await rename(temporary, file);
      } catch (err) {
        await rm(temporary, { force: true });
        throw err;
      }
    },
  };
}

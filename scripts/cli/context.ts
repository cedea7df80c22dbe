import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { Redis } from '@upstash/redis';
import { createDatabase, type DatabaseHandle } from '../../drizzle/client/client.ts';
import { loadDataConfig } from '../../shared/config/data.ts';
import type { CliContext } from './types.ts';

/** What `npm start` records about the local stack (see docs/guides/local-stack.md). */
export interface LocalStack {
  databaseUrl?: string;
  redisRestUrl?: string;
  redisRestToken?: string;
  edgeUrl?: string;
  apiKey?: string;
}

/** The local stack's `.aiserve/local.json` (or AISERVE_LOCAL_FILE), `{}` when absent or unreadable. */
export function localStack(env: Record<string, string | undefined>, cwd = process.cwd()): LocalStack {
  return readLocalStack(resolve(cwd, env['AISERVE_LOCAL_FILE'] ?? '.aiserve/local.json'));
}

function readLocalStack(path: string): LocalStack {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LocalStack;
  } catch {
    return {};
  }
}

/**
 * The environment the CLI runs with. When DATABASE_URL (or the Upstash variables) are unset and the local
 * stack is running, its `.aiserve/local.json` fills them in: embedded PGlite is owned by the `npm start`
 * process, and opening its directory from a second process would corrupt it.
 */
export function resolveCliEnv(
  env: Record<string, string | undefined>,
  cwd = process.cwd(),
): Record<string, string | undefined> {
  const local = localStack(env, cwd);
  const out = { ...env };
  if (!out['DATABASE_URL'] && local.databaseUrl) out['DATABASE_URL'] = local.databaseUrl;
  if (!out['UPSTASH_REDIS_REST_URL'] && local.redisRestUrl && local.redisRestToken) {
    out['UPSTASH_REDIS_REST_URL'] = local.redisRestUrl;
    out['UPSTASH_REDIS_REST_TOKEN'] = local.redisRestToken;
  }
  // A short connect timeout: an operator at a terminal wants "cannot reach" in seconds, not a hang.
  out['DATABASE_CONNECT_TIMEOUT_MS'] ??= '5000';
  return out;
}

export interface OpenedContext extends CliContext {
  /** The database URL in use (for error messages). */
  databaseUrl: string;
  close(): Promise<void>;
}

export function createCliContext(
  rawEnv: Record<string, string | undefined>,
  progress: (line: string) => void = () => {},
): OpenedContext {
  const env = resolveCliEnv(rawEnv);
  const config = loadDataConfig(env);
  let handle: Promise<DatabaseHandle> | undefined;
  let redis: Redis | null | undefined;
  return {
    env,
    databaseUrl: config.DATABASE_URL,
    actor: env['AISERVE_ACTOR'] || `cli:${safeUser()}`,
    progress,
    async db() {
      // Slow queries go to stderr as JSON lines, keeping stdout clean for --json.
      handle ??= createDatabase(config, {
        onSlowQuery: (e) =>
          process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'slow query', ...e })}\n`),
      });
      // One logical session: whatever this run wrote, it reads back from the primary.
      return (await handle).session('cli');
    },
    redis() {
      if (redis !== undefined) return redis;
      const url = env['UPSTASH_REDIS_REST_URL'];
      const token = env['UPSTASH_REDIS_REST_TOKEN'];
      redis = url && token ? new Redis({ url, token, retry: { retries: 1, backoff: () => 200 } }) : null;
      return redis;
    },
    async close() {
      if (handle) await (await handle.catch(() => null))?.close();
    },
  };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

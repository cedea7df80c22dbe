import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * `.aiserve/local.json`: what `npm start` started, for tools and tests. The first six names are a contract
 * (issues 3 and 4); the rest are extras for local tooling.
 */
export interface LocalState {
  originUrl?: string;
  databaseUrl?: string;
  redisRestUrl?: string;
  redisRestToken?: string;
  apiKey?: string;
  edgeUrl?: string;
  /** Operator bearer token for the edge's `/admin/v1/*`. */
  adminToken?: string;
  /** host:port of the Neon WebSocket proxy in front of the database. */
  neonWsProxy?: string;
  /** The example request body the printed curl sends. */
  exampleRequest?: string;
  /** Process ids of the children (each leads its own process group) and of `npm start` itself. */
  pids?: Record<string, number>;
}

const localStatePath = (stateDir: string) => join(stateDir, 'local.json');

/** The previous run's state (its demo key is reused), or an empty state when there is none or it is unreadable. */
export async function readLocalState(stateDir: string): Promise<LocalState> {
  try {
    const parsed: unknown = JSON.parse(await readFile(localStatePath(stateDir), 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as LocalState) : {};
  } catch {
    return {};
  }
}

/** Written atomically (temp file + rename) so a reader polling for it never sees half a file. */
export async function writeLocalState(stateDir: string, state: LocalState): Promise<void> {
  const path = localStatePath(stateDir);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

import type { Redis } from '@upstash/redis';
import { ORIGINS_INDEX_KEY, originKey } from '../redis-keys.ts';
import { type OriginRecord, originRecordSchema } from './origin-record.ts';

/**
 * The commands the registry uses. Any `@upstash/redis` client (Node, Cloudflare, Fastly entry) fits, since they
 * share these methods; naming them keeps tests and callers free to pass a narrower object.
 */
export type RegistryRedis = Pick<Redis, 'multi' | 'pipeline' | 'mget'>;

export interface WriteOptions {
  /** Record lifetime without a further heartbeat. */
  ttlMs: number;
  /** Epoch ms on the writer's clock; the index score is `nowMs + ttlMs`. */
  nowMs: number;
}

/**
 * Writes the record and its index entry in one MULTI/EXEC, so a reader never sees an indexed id without a
 * record written in the same step. The key's PX expiry (Redis server time) is what bounds a dead origin's
 * lifetime; the index score only lets readers skip and prune old ids without a KEYS scan.
 */
async function write(redis: RegistryRedis, record: OriginRecord, options: WriteOptions): Promise<void> {
  const parsed = originRecordSchema.parse(record);
  const ttlMs = Math.max(1, Math.round(options.ttlMs));
  await redis
    .multi()
    .set(originKey(parsed.id), JSON.stringify(parsed), { px: ttlMs })
    .zadd(ORIGINS_INDEX_KEY, { score: options.nowMs + ttlMs, member: parsed.id })
    .exec();
}

/** Adds an origin to the fleet (or replaces its record), visible to routers at once. */
export function registerOrigin(
  redis: RegistryRedis,
  record: OriginRecord,
  options: WriteOptions,
): Promise<void> {
  return write(redis, record, options);
}

/**
 * Refreshes an origin's record (load, status, `heartbeatAt`) and extends its lifetime. It rewrites the whole
 * record rather than only extending the expiry: an origin that was partitioned past its TTL re-joins by itself.
 */
export function heartbeatOrigin(
  redis: RegistryRedis,
  record: OriginRecord,
  options: WriteOptions,
): Promise<void> {
  return write(redis, record, options);
}

/** Removes an origin at once (it is draining or stopping); routers stop picking it on their next read. */
export async function deregisterOrigin(redis: Pick<Redis, 'multi'>, id: string): Promise<void> {
  await redis.multi().del(originKey(id)).zrem(ORIGINS_INDEX_KEY, id).exec();
}

export interface ListOptions {
  /** Called for a stored record that fails the schema (a writer on another version); it is skipped. */
  onInvalid?: (id: string, error: unknown) => void;
}

/** `@upstash/redis` deserialises JSON values by default; a client built without that returns the raw string. */
function decode(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/**
 * Every origin whose record is still alive, in index order (earliest expiry first). Ids whose index score is
 * already past are pruned from the index; ids whose record expired but whose score (on the writer's clock)
 * is still ahead are skipped and pruned once their score passes, so clock skew between writers and readers
 * never resurrects a dead origin: the record's PX expiry decides.
 */
export async function listLiveOrigins(
  redis: RegistryRedis,
  nowMs: number,
  options: ListOptions = {},
): Promise<OriginRecord[]> {
  // One round trip for prune + range (the ranges are disjoint, so their order does not matter), one for MGET.
  const [, ids] = await redis
    .pipeline()
    .zremrangebyscore(ORIGINS_INDEX_KEY, '-inf', `(${nowMs}`)
    .zrange(ORIGINS_INDEX_KEY, nowMs, '+inf', { byScore: true })
    .exec<[number, unknown[]]>();
  // Auto-deserialisation may turn a numeric-looking member into a number.
  const memberIds = ids.map((id) => String(id));
  if (memberIds.length === 0) return [];
  const values = await redis.mget<unknown[]>(...memberIds.map(originKey));
  const live: OriginRecord[] = [];
  memberIds.forEach((id, i) => {
    const value = values[i];
    if (value === null || value === undefined) return;
    const parsed = originRecordSchema.safeParse(decode(value));
    if (parsed.success) live.push(parsed.data);
    else options.onInvalid?.(id, parsed.error);
  });
  return live;
}

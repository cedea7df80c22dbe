import type { Redis } from '@upstash/redis';
import { ORIGINS_INDEX_KEY, ORIGINS_INDEX_SENTINEL, originKey } from '../redis-keys.ts';
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

/** The sentinel's score: past any epoch ms, so pruning (`-inf` to now) never removes it (JSON has no Infinity). */
const SENTINEL_SCORE = Number.MAX_SAFE_INTEGER;

/**
 * Writes the record and its index entry in one MULTI/EXEC, so a reader never sees an indexed id without a
 * record written in the same step. The key's PX expiry (Redis server time) is what bounds a dead origin's
 * lifetime; the index score only lets readers skip and prune old ids without a KEYS scan. The same ZADD
 * (re)writes the index's sentinel, so the index says whether it is intact (`readFleet`) with no other key or
 * command a host's ACL would have to allow.
 */
async function write(redis: RegistryRedis, record: OriginRecord, options: WriteOptions): Promise<void> {
  const parsed = originRecordSchema.parse(record);
  const ttlMs = Math.max(1, Math.round(options.ttlMs));
  await redis
    .multi()
    .set(originKey(parsed.id), JSON.stringify(parsed), { px: ttlMs })
    .zadd(
      ORIGINS_INDEX_KEY,
      { score: options.nowMs + ttlMs, member: parsed.id },
      { score: SENTINEL_SCORE, member: ORIGINS_INDEX_SENTINEL },
    )
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

/** One read of the registry. */
export interface FleetRead {
  /** Every origin whose record is still alive, in index order (earliest expiry first). */
  origins: OriginRecord[];
  /**
   * False when the index lacks its sentinel: the registry lost its data (Redis restarted empty, a failover to
   * an empty replica), or no origin ever registered. An empty fleet then does not mean the origins left.
   */
  intact: boolean;
}

/**
 * Every origin whose record is still alive, and whether the index is intact. Ids whose index score is already
 * past are pruned from the index; ids whose record expired but whose score (on the writer's clock) is still
 * ahead are skipped and pruned once their score passes, so clock skew between writers and readers never
 * resurrects a dead origin: the record's PX expiry decides.
 */
export async function readFleet(
  redis: RegistryRedis,
  nowMs: number,
  options: ListOptions = {},
): Promise<FleetRead> {
  // One round trip for prune + range (the ranges are disjoint, so their order does not matter), one for MGET.
  const [, members] = await redis
    .pipeline()
    .zremrangebyscore(ORIGINS_INDEX_KEY, '-inf', `(${nowMs}`)
    .zrange(ORIGINS_INDEX_KEY, nowMs, '+inf', { byScore: true })
    .exec<[number, unknown[]]>();
  // Auto-deserialisation may turn a numeric-looking member into a number.
  const all = members.map((id) => String(id));
  const intact = all.includes(ORIGINS_INDEX_SENTINEL);
  const memberIds = all.filter((id) => id !== ORIGINS_INDEX_SENTINEL);
  if (memberIds.length === 0) return { origins: [], intact };
  const values = await redis.mget<unknown[]>(...memberIds.map(originKey));
  const live: OriginRecord[] = [];
  memberIds.forEach((id, i) => {
    const value = values[i];
    if (value === null || value === undefined) return;
    const parsed = originRecordSchema.safeParse(decode(value));
    if (parsed.success) live.push(parsed.data);
    else options.onInvalid?.(id, parsed.error);
  });
  return { origins: live, intact };
}

/** Every origin whose record is still alive, in index order (`readFleet` without the index's state). */
export async function listLiveOrigins(
  redis: RegistryRedis,
  nowMs: number,
  options: ListOptions = {},
): Promise<OriginRecord[]> {
  return (await readFleet(redis, nowMs, options)).origins;
}

/**
 * The Redis keyspace: every name the platform reads or writes in Redis, in one place, as `drizzle/schema`
 * names the tables. Everything lives under `aiserve:` so one logical database can be shared with other
 * applications and an ACL can be scoped by prefix (`shared/fleet/host-acl.ts`). Importers take the names from
 * here, never spell them out.
 *
 * | name                             | type       | written by                         | read by                        |
 * | -------------------------------- | ---------- | ---------------------------------- | ------------------------------ |
 * | `aiserve:cache:<sha256>`         | string     | edge (response cache fill)         | edge (response cache lookup)   |
 * | `aiserve:auth:<key prefix>`      | string     | edge (key cache); DEL by revokers  | edge (key cache)               |
 * | `aiserve:rl:<bucket>`            | hash       | edge (`@upstash/ratelimit`)        | edge                           |
 * | `aiserve:usage`                  | stream     | edge (one event per request)       | usage drain (consumer group)   |
 * | `aiserve:usage:dead`             | stream     | usage drain (invalid entries)      | operators                      |
 * | `aiserve:origin:<origin id>`     | string, PX | origin heartbeat                   | edge router, control plane     |
 * | `aiserve:origins`                | sorted set | origin heartbeat (+ its sentinel)  | edge router, control plane     |
 * | `aiserve:drain:<origin id>`      | string, PX | control plane (reconciler)         | origin heartbeat, reconciler   |
 * | `aiserve:control:autoscaler`     | string     | control plane (autoscaler policy)  | control plane                  |
 * | `aiserve:control:reconcile-lock` | string, PX | control plane (one reconcile)      | control plane                  |
 * | `aiserve:control:breakers`       | string     | control plane (provider breakers)  | control plane                  |
 */

/**
 * Cached inference answers: `aiserve:cache:<sha256>` (the key of `shared/cache-key.ts`), text with a base64
 * body, `EX` the model's TTL.
 */
export const RESPONSE_CACHE_PREFIX = 'aiserve:cache:';

/**
 * The edge's key records: `aiserve:auth:<prefix>` holds the JSON `{ record, freshUntil }` for the public
 * prefix of an API key (`shared/keys/auth-record.ts`). Revokers (admin API, CLI, data layer) DEL it.
 */
const AUTH_CACHE_PREFIX = 'aiserve:auth:';

export function authCacheKey(prefix: string): string {
  return `${AUTH_CACHE_PREFIX}${prefix}`;
}

/** `@upstash/ratelimit` token buckets; the library appends `:<identifier>` (`key:<keyId>`, `ip:<address>`). */
export const RATE_LIMIT_PREFIX = 'aiserve:rl';

/** The Redis stream the edge appends one usage event per request to, and the drain reads from. */
export const USAGE_STREAM = 'aiserve:usage';

/** Consumer group of the drain job on `USAGE_STREAM` (XGROUP CREATE … MKSTREAM on first start). */
export const USAGE_CONSUMER_GROUP = 'usage-drain';

/** Where the drain parks entries that fail validation, with the reason; they are acked, never retried. */
export const USAGE_DEAD_LETTER_STREAM = 'aiserve:usage:dead';

/** One origin's registry record: `SET aiserve:origin:<id> <json> PX <ttlMs>`. */
export const ORIGIN_KEY_PREFIX = 'aiserve:origin:';

export function originKey(id: string): string {
  return `${ORIGIN_KEY_PREFIX}${id}`;
}

/**
 * Sorted-set index of origins scored by the epoch ms at which their record expires, plus one sentinel member
 * (`ORIGINS_INDEX_SENTINEL`).
 */
export const ORIGINS_INDEX_KEY = 'aiserve:origins';

/**
 * A member of `ORIGINS_INDEX_KEY` that is no origin id (`~` is not allowed in one), written with every
 * registration and heartbeat at a score no clock reaches and never removed: an index without it has lost its
 * data (Redis restarted empty, or failed over to an empty replica), as opposed to a fleet whose origins left.
 */
export const ORIGINS_INDEX_SENTINEL = '~registry';

/** The reconciler's request that an origin drain: `SET aiserve:drain:<originId> <json> PX …`. */
export const DRAIN_KEY_PREFIX = 'aiserve:drain:';

export function drainKey(originId: string): string {
  return `${DRAIN_KEY_PREFIX}${originId}`;
}

/**
 * What the autoscaler policy must remember between reconcile runs (its memory and the load samples of the
 * look-back window), since each Cron Trigger may run in a fresh isolate.
 */
export const AUTOSCALER_STATE_KEY = 'aiserve:control:autoscaler';

/** Held for the length of one reconcile (`SET NX PX`), so concurrent cron runs do not both act. */
export const RECONCILE_LOCK_KEY = 'aiserve:control:reconcile-lock';

/** Last reconcile pass's provider breaker states, for `fleet status` and for a fresh isolate's first look. */
export const BREAKERS_KEY = 'aiserve:control:breakers';

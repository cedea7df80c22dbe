/**
 * Pure cache policy: whether a request may read or write the response cache, and for how long an answer
 * lives, from the model's settings and the client's `Cache-Control`.
 */

/** The cache-relevant part of a model's settings (`findModelSettings` in drizzle/queries/models.ts). */
export interface ModelCacheSettings {
  cacheable: boolean;
  cacheTtlSeconds: number;
  /** One answer serves every tenant: the cache key leaves the tenant out. */
  shareable: boolean;
  /** `private`: only `ownerTenantId`'s keys may use the model (workers/middleware/auth/model-access.ts). */
  visibility?: 'public' | 'private';
  ownerTenantId?: string | null;
}

/** What a model without a settings row gets (the models table's column defaults). */
export const DEFAULT_MODEL_CACHE_SETTINGS: ModelCacheSettings = {
  cacheable: true,
  cacheTtlSeconds: 300,
  shareable: false,
  visibility: 'public',
  ownerTenantId: null,
};

/** `no-cache`: revalidate (skip reads, store the fresh answer); `no-store`: neither read nor write. */
export type ClientCacheDirective = 'default' | 'no-cache' | 'no-store';

/** Reads `Cache-Control` (and HTTP/1.0 `Pragma: no-cache`); `no-store` wins over `no-cache`. */
export function parseClientCacheDirective(
  cacheControl: string | null | undefined,
  pragma?: string | null,
): ClientCacheDirective {
  const directives = (cacheControl ?? '')
    .toLowerCase()
    .split(',')
    .map((d) => d.replace(/\s+/g, ''));
  if (directives.includes('no-store')) return 'no-store';
  // `max-age=0` is how many clients ask for a fresh answer.
  if (directives.includes('no-cache') || directives.includes('max-age=0')) return 'no-cache';
  if (!cacheControl && pragma?.toLowerCase().includes('no-cache')) return 'no-cache';
  return 'default';
}

export interface CacheDecision {
  /** Look the answer up in the cache. */
  read: boolean;
  /** Store a fresh 200 answer. */
  write: boolean;
  ttlSeconds: number;
  shareable: boolean;
  /** `BYPASS` when the cache is not used at all; otherwise a read miss is reported as `MISS`. */
  bypass: boolean;
}

const BYPASS: CacheDecision = { read: false, write: false, ttlSeconds: 0, shareable: false, bypass: true };

/**
 * `settings` null means they could not be read (database down, nothing cached): bypass, because the model
 * might be non-cacheable or tenant-scoped and guessing wrong would leak or pin answers.
 */
export function decideCache(
  settings: ModelCacheSettings | null,
  directive: ClientCacheDirective,
): CacheDecision {
  if (!settings?.cacheable || settings.cacheTtlSeconds <= 0) return BYPASS;
  if (directive === 'no-store') return BYPASS;
  return {
    read: directive === 'default',
    write: true,
    ttlSeconds: settings.cacheTtlSeconds,
    shareable: settings.shareable,
    bypass: false,
  };
}

/**
 * Only complete successful answers are stored: errors (4xx, 5xx, the origin's 429), partial content and
 * anything the origin marked private or no-store are never cached.
 */
export function isStorableResponse(status: number, headers: Headers): boolean {
  if (status !== 200) return false;
  const cc = (headers.get('cache-control') ?? '').toLowerCase();
  if (cc.includes('no-store') || cc.includes('private')) return false;
  return !headers.has('set-cookie');
}

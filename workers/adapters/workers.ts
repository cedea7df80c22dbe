import type { EdgeCache, LastKnownStore, Platform } from './platform.ts';

interface WorkersCacheStorage {
  default: {
    match(request: Request): Promise<Response | undefined>;
    put(request: Request, response: Response): Promise<void>;
    delete(request: Request): Promise<boolean>;
  };
}

/** The Cache API's default cache when the runtime has one (workerd), else null. */
function workersEdgeCache(): EdgeCache | null {
  const storage = (globalThis as { caches?: unknown }).caches as WorkersCacheStorage | undefined;
  if (!storage || typeof storage !== 'object' || !('default' in storage)) return null;
  const cache = storage.default;
  return {
    match: (request) => cache.match(request),
    put: (request, response) => cache.put(request, response),
    delete: (request) => cache.delete(request),
  };
}

/** Platform of one Workers request: its execution context's `waitUntil`, the Cache API and `Date.now`. */
export function createWorkersPlatform(ctx: { waitUntil(promise: Promise<unknown>): void }): Platform {
  return { waitUntil: (p) => ctx.waitUntil(p), edgeCache: workersEdgeCache(), now: () => Date.now() };
}

/** Host of the Cache API entries the last-known store keeps (never fetched: the Cache API only needs a URL). */
const LAST_KNOWN_BASE = 'https://last-known.aiserve.internal/';

/**
 * The last-known store on Workers: the Cache API's default cache, shared by the isolates of one location (a
 * new isolate there finds what a sibling wrote), `max-age` the entry's lifetime. Null where there is no Cache
 * API. Call its methods inside a request: workerd allows no I/O at global scope.
 */
export function workersLastKnownStore(): LastKnownStore | null {
  const cache = workersEdgeCache();
  if (!cache) return null;
  const requestFor = (key: string) => new Request(`${LAST_KNOWN_BASE}${encodeURIComponent(key)}`);
  return {
    async get(key) {
      const hit = await cache.match(requestFor(key));
      return hit ? hit.text() : null;
    },
    async put(key, value, ttlSeconds) {
      const headers = {
        'content-type': 'application/json',
        'cache-control': `max-age=${Math.max(1, Math.floor(ttlSeconds))}`,
      };
      await cache.put(requestFor(key), new Response(value, { headers }));
    },
  };
}

/**
 * The `fetch` of the `ORIGIN_MTLS` mTLS-certificate binding (`[[mtls_certificates]]` in wrangler.toml) when the
 * worker has one: requests through it present that client certificate to origins that require one. Undefined
 * without the binding (the global fetch then serves).
 */
export function mtlsOriginFetch(env: Record<string, unknown>): typeof fetch | undefined {
  const binding = env.ORIGIN_MTLS as { fetch?: unknown } | undefined;
  if (!binding || typeof binding.fetch !== 'function') return undefined;
  const fetcher = binding as { fetch: typeof fetch };
  return (input, init) => fetcher.fetch(input, init);
}

/** Workers Cache API behind an interface; `null` where there is none (Node). */
export interface EdgeCache {
  match(request: Request): Promise<Response | undefined>;
  put(request: Request, response: Response): Promise<void>;
  delete(request: Request): Promise<boolean>;
}

/**
 * A few small values kept outside the isolate, for what a new isolate must find while a dependency is down (the
 * last known fleet): the Workers Cache API of the location on Workers, files under Node. Best effort: an entry
 * may vanish before its time (eviction), and a read of one that expired is null.
 */
export interface LastKnownStore {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
}

/** What differs between Workers and Node at request time (`workers.ts`, `node.ts`). */
export interface Platform {
  /** Keeps the isolate alive for background work after the response (usage events, cache fills). */
  waitUntil(promise: Promise<unknown>): void;
  edgeCache: EdgeCache | null;
  /** Epoch milliseconds. */
  now(): number;
}

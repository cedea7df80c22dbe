/** Workers Cache API behind an interface; `null` where there is none (Node). */
export interface EdgeCache {
  match(request: Request): Promise<Response | undefined>;
  put(request: Request, response: Response): Promise<void>;
  delete(request: Request): Promise<boolean>;
}

/** What differs between Workers and Node at request time (`workers.ts`, `node.ts`). */
export interface Platform {
  /** Keeps the isolate alive for background work after the response (usage events, cache fills). */
  waitUntil(promise: Promise<unknown>): void;
  edgeCache: EdgeCache | null;
  /** Epoch milliseconds. */
  now(): number;
}

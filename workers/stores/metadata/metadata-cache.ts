import { sha256HexSync } from '../../../shared/sha256-sync.ts';

/** A model metadata answer held in the isolate. */
export interface MetadataEntry {
  headers: [string, string][];
  body: Uint8Array;
  /** Strong validator: a hash of the body, so every edge gives the same answer the same ETag. */
  etag: string;
  /** Epoch ms. */
  fetchedAt: number;
}

export type MetadataLoad<A> = () => Promise<{
  status: number;
  entry: Omit<MetadataEntry, 'etag' | 'fetchedAt'>;
  answer: A;
}>;

export type MetadataResult<A> =
  | { state: 'fresh' | 'stale' | 'miss'; entry: MetadataEntry }
  /** Not cacheable (a non-200 from the origin): passed through as it came. */
  | { state: 'uncached'; answer: A };

export interface MetadataCacheOptions {
  freshMs: number;
  /** After `freshMs`, how long the old answer is still served while one refresh runs in the background. */
  staleMs: number;
  /** Epoch ms. */
  now: () => number;
  maxEntries?: number;
  onRefreshError?: (key: string, error: unknown) => void;
}

/** `"<first 32 hex of sha256(body)>"`. */
function etagOf(body: Uint8Array): string {
  return `"${sha256HexSync(body).slice(0, 32)}"`;
}

/** RFC 9110 weak comparison for If-None-Match: a list of tags, `W/` ignored, `*` matches anything. */
export function ifNoneMatchHits(header: string | null | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((raw) => {
    const tag = raw.trim();
    return tag === '*' || tag.replace(/^W\//, '') === bare;
  });
}

/**
 * Stale-while-revalidate for model metadata in isolate memory: fresh answers are served as they are; stale
 * ones (within `staleMs` after going stale) are served at once while one background refresh (through
 * `waitUntil`) replaces them; older or absent ones are loaded, one load per key at a time. Only 200 answers
 * are kept; a failed refresh keeps the stale answer until its window ends.
 */
export class MetadataCache<A> {
  readonly #entries = new Map<string, MetadataEntry>();
  readonly #loads = new Map<string, Promise<MetadataResult<A>>>();
  readonly #options: MetadataCacheOptions;

  constructor(options: MetadataCacheOptions) {
    this.#options = options;
  }

  async get(
    key: string,
    load: MetadataLoad<A>,
    waitUntil: (p: Promise<unknown>) => void,
  ): Promise<MetadataResult<A>> {
    const entry = this.#entries.get(key);
    const now = this.#options.now();
    if (entry) {
      const age = now - entry.fetchedAt;
      if (age < this.#options.freshMs) return { state: 'fresh', entry };
      if (age < this.#options.freshMs + this.#options.staleMs) {
        if (!this.#loads.has(key)) {
          const refresh = this.#load(key, load).catch((error: unknown) => {
            this.#options.onRefreshError?.(key, error);
          });
          waitUntil(refresh);
        }
        return { state: 'stale', entry };
      }
      this.#entries.delete(key);
    }
    const result = await this.#load(key, load);
    return result.state === 'uncached' ? result : { state: 'miss', entry: result.entry };
  }

  #load(key: string, load: MetadataLoad<A>): Promise<MetadataResult<A>> {
    const pending = this.#loads.get(key);
    if (pending) return pending;
    const promise = (async (): Promise<MetadataResult<A>> => {
      const { status, entry, answer } = await load();
      if (status !== 200) return { state: 'uncached', answer };
      const stored: MetadataEntry = { ...entry, etag: etagOf(entry.body), fetchedAt: this.#options.now() };
      if (!this.#entries.has(key) && this.#entries.size >= (this.#options.maxEntries ?? 1_000)) {
        this.#entries.delete(this.#entries.keys().next().value!);
      }
      this.#entries.set(key, stored);
      return { state: 'miss', entry: stored };
    })();
    this.#loads.set(key, promise);
    const clear = () => this.#loads.delete(key);
    promise.then(clear, clear);
    return promise;
  }
}

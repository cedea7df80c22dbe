import { hashKeySecret } from '../../../shared/keys/api-key.ts';
import { TtlMap } from '../../store/ttl-map.ts';

/**
 * SHA-256 of presented secrets, remembered per isolate for a short while. Hashing through WebCrypto was the
 * largest single cost of a cache hit (an async digest per request); a key that is used again within `ttlMs`
 * reuses its hash. Only the hash is reused: every request is still compared, in constant time, with the
 * current stored record, so revocation, rotation and expiry keep their bounds.
 */
export class SecretHashes {
  readonly #memo: TtlMap<string>;
  readonly #ttlMs: number;

  constructor(options: { ttlMs: number; maxEntries?: number; now: () => number }) {
    this.#memo = new TtlMap({ maxEntries: options.maxEntries ?? 10_000, now: options.now });
    this.#ttlMs = options.ttlMs;
  }

  async hash(secret: string): Promise<string> {
    const known = this.#memo.get(secret);
    if (known !== undefined) return known;
    const hash = await hashKeySecret(secret);
    if (this.#ttlMs > 0) this.#memo.set(secret, hash, this.#ttlMs);
    return hash;
  }
}

import { createHash } from 'node:crypto';

/**
 * Synchronous SHA-256 over bytes, native in Node and in workerd (`nodejs_compat`). WebCrypto's digest is
 * asynchronous, and the cache lookup must issue its Redis command in the same tick as the rate limiter's so
 * `@upstash/redis` auto-pipelining sends both in one round trip.
 */
export function sha256HexSync(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

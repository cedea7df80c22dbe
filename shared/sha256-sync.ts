import { createHash } from 'node:crypto';

/**
 * Synchronous SHA-256 as lowercase hex (a string is hashed as UTF-8), native in Node and in workerd
 * (`nodejs_compat`). WebCrypto's digest is asynchronous: the cache lookup must issue its Redis command in the
 * same tick as the rate limiter's so `@upstash/redis` auto-pipelining sends both in one round trip, and the edge
 * hashes a presented key secret on every request.
 */
export function sha256HexSync(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * API key format and hashing. Random bytes from WebCrypto and SHA-256 from `node:crypto` (native and
 * synchronous in Node and in workerd with `nodejs_compat`), so the same code runs in Workers and Node.
 *
 * A key is `ais_<env>_<prefix>_<secret>`:
 * - `prefix`: 12 lowercase base32 characters, public, stored in `api_keys.prefix` and used to find the row
 *   (and in its Redis cache name, `authCacheKey` in `shared/redis-keys.ts`), so lookups never touch the secret;
 * - `secret`: 40 base62 characters (~238 bits), shown once and never stored; only its SHA-256 is kept.
 * A plain SHA-256 (no salt, no slow KDF) is enough because the secret is random and long: there is nothing
 * to brute-force, and the edge verifies a key on every request within a few milliseconds.
 */

import { sha256HexSync } from '../sha256-sync.ts';

export type KeyEnv = 'live' | 'test';

export interface ParsedApiKey {
  env: KeyEnv;
  prefix: string;
  secret: string;
}

export interface GeneratedApiKey {
  key: string;
  prefix: string;
  secret: string;
}

const PREFIX_LENGTH = 12;
export const SECRET_LENGTH = 40;
const MIN_SECRET_LENGTH = 32;
// Secrets above this length are refused before hashing: a cheap bound on work an attacker can cause.
const MAX_SECRET_LENGTH = 128;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Prefixes accept lowercase base32 and hex digits alike (the contract allows either alphabet).
const KEY_PATTERN = new RegExp(
  `^ais_(live|test)_([a-z0-9]{${PREFIX_LENGTH}})_([A-Za-z0-9]{${MIN_SECRET_LENGTH},${MAX_SECRET_LENGTH}})$`,
);

/** Splits a presented key into its parts; `null` for anything that is not exactly a well-formed key. */
export function parseApiKey(raw: string): ParsedApiKey | null {
  if (typeof raw !== 'string' || raw.length > 200) return null;
  const match = KEY_PATTERN.exec(raw);
  if (!match) return null;
  return { env: match[1] as KeyEnv, prefix: match[2]!, secret: match[3]! };
}

/** Uniformly random characters from `alphabet` (rejection sampling: no modulo bias). */
function randomString(alphabet: string, length: number): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const b of bytes) {
      if (b >= limit) continue;
      out += alphabet[b % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

export function generateApiKey(env: KeyEnv = 'live'): GeneratedApiKey {
  const prefix = randomString(BASE32, PREFIX_LENGTH);
  const secret = randomString(BASE62, SECRET_LENGTH);
  return { key: `ais_${env}_${prefix}_${secret}`, prefix, secret };
}

/**
 * SHA-256 of the secret as lowercase hex: the only form of the secret that is ever stored. Synchronous: the
 * edge hashes the presented secret on every request, and an asynchronous WebCrypto digest there was the
 * largest single cost of a cache hit.
 */
export function hashKeySecret(secret: string): string {
  return sha256HexSync(secret);
}

/**
 * Compares two hex digests without an early exit, so response time does not reveal how many leading
 * characters of a guessed hash were right. Lengths are public (always 64 for SHA-256).
 */
export function timingSafeEqualHex(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

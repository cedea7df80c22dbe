import {
  asArrayBufferView,
  canonicalString,
  encodeUtf8,
  fromHex,
  importHmacKey,
  SIGNATURE_HEADERS,
  sha256Hex,
} from './canonical.ts';
import type { ReplayCache } from './replay-cache.ts';

export type VerifyFailureReason =
  | 'missing'
  | 'unknown-key'
  | 'stale'
  | 'replayed'
  | 'bad-signature'
  | 'body-mismatch';

type VerifyResult = { ok: true; keyId: string } | { ok: false; reason: VerifyFailureReason; message: string };

interface HeaderReader {
  get(name: string): string | null;
}

export interface VerifyInput {
  method: string;
  /** Path and query exactly as received. */
  pathWithQuery: string;
  headers: HeaderReader;
  body: Uint8Array;
}

export interface VerifierOptions {
  /** keyId → secret; several entries are valid at once so keys rotate without downtime. */
  keys: ReadonlyMap<string, string>;
  maxSkewSeconds: number;
  replayCache: ReplayCache;
  /** Epoch milliseconds; defaults to `Date.now`. */
  now?: () => number;
}

export interface Verifier {
  verify(input: VerifyInput): Promise<VerifyResult>;
}

const TIMESTAMP_RE = /^\d{1,12}$/;
const NONCE_RE = /^[0-9a-f]{16,64}$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const SIGNATURE_BYTES = 32;

function fail(reason: VerifyFailureReason, message: string): VerifyResult {
  return { ok: false, reason, message };
}

/**
 * Checks, cheapest first: headers present and well-formed, key known, timestamp within ±maxSkew, body hash,
 * signature (constant-time, via `crypto.subtle.verify`), and last the nonce — remembered only once the
 * signature is good, so unsigned traffic cannot fill the replay cache.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const { keys, maxSkewSeconds, replayCache } = options;
  const now = options.now ?? Date.now;
  const replayTtlSeconds = 2 * maxSkewSeconds;

  return {
    async verify(input: VerifyInput): Promise<VerifyResult> {
      const h = input.headers;
      const missing = Object.values(SIGNATURE_HEADERS).filter((name) => !h.get(name));
      if (missing.length > 0) return fail('missing', `missing header(s): ${missing.join(', ')}`);
      const keyId = h.get(SIGNATURE_HEADERS.keyId)!;
      const timestamp = h.get(SIGNATURE_HEADERS.timestamp)!;
      const nonce = h.get(SIGNATURE_HEADERS.nonce)!;
      const contentSha256 = h.get(SIGNATURE_HEADERS.contentSha256)!;
      const signature = h.get(SIGNATURE_HEADERS.signature)!;

      if (!TIMESTAMP_RE.test(timestamp)) return fail('missing', `malformed ${SIGNATURE_HEADERS.timestamp}`);
      if (!NONCE_RE.test(nonce)) return fail('missing', `malformed ${SIGNATURE_HEADERS.nonce}`);
      if (!SHA256_RE.test(contentSha256)) {
        return fail('missing', `malformed ${SIGNATURE_HEADERS.contentSha256}`);
      }

      const secret = keys.get(keyId);
      if (secret === undefined) return fail('unknown-key', 'unknown key id');

      const skew = Math.floor(now() / 1000) - Number(timestamp);
      if (Math.abs(skew) > maxSkewSeconds) {
        return fail('stale', `timestamp is ${Math.abs(skew)}s ${skew > 0 ? 'old' : 'in the future'}`);
      }

      const actualSha256 = await sha256Hex(asArrayBufferView(input.body));
      if (actualSha256 !== contentSha256)
        return fail('body-mismatch', 'body does not match its content hash');

      const signatureBytes = fromHex(signature);
      if (!signatureBytes || signatureBytes.length !== SIGNATURE_BYTES) {
        return fail('bad-signature', 'malformed signature');
      }
      const canonical = canonicalString({
        method: input.method,
        pathWithQuery: input.pathWithQuery,
        timestamp,
        nonce,
        bodySha256: actualSha256,
      });
      const key = await importHmacKey(secret);
      const valid = await crypto.subtle.verify('HMAC', key, signatureBytes, encodeUtf8(canonical));
      if (!valid) return fail('bad-signature', 'signature does not match');

      if (!(await replayCache.checkAndRemember(nonce, replayTtlSeconds))) {
        return fail('replayed', 'nonce already used');
      }
      return { ok: true, keyId };
    },
  };
}

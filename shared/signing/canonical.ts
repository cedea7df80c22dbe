/**
 * The canonical request string and the WebCrypto helpers shared by signer (edge) and verifier (origin).
 * WebCrypto and TextEncoder only: this file runs unchanged in Cloudflare Workers and in Node.
 */

export const SIGNING_ALGORITHM = 'AIServe-HMAC-SHA256';

/** Header names, in their canonical spelling (HTTP header lookup is case-insensitive). */
export const SIGNATURE_HEADERS = {
  keyId: 'X-AIServe-Key-Id',
  timestamp: 'X-AIServe-Timestamp',
  nonce: 'X-AIServe-Nonce',
  contentSha256: 'X-AIServe-Content-SHA256',
  signature: 'X-AIServe-Signature',
} as const;

/** sha256 of the empty body, the content hash of a request without one. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface CanonicalRequest {
  method: string;
  /** Path and query exactly as sent on the wire, e.g. `/v2/models/m/infer?x=1`. */
  pathWithQuery: string;
  /** Unix seconds. */
  timestamp: number | string;
  nonce: string;
  /** Lowercase hex sha256 of the body. */
  bodySha256: string;
}

export function canonicalString(req: CanonicalRequest): string {
  return [
    SIGNING_ALGORITHM,
    req.method.toUpperCase(),
    req.pathWithQuery,
    String(req.timestamp),
    req.nonce,
    req.bodySha256,
  ].join('\n');
}

const encoder = new TextEncoder();

function toBytes(body: Uint8Array | string | null | undefined): Uint8Array<ArrayBuffer> {
  if (body === null || body === undefined) return new Uint8Array(0);
  if (typeof body === 'string') return encoder.encode(body);
  return asArrayBufferView(body);
}

/** WebCrypto wants ArrayBuffer-backed views; copies only when the bytes live in a SharedArrayBuffer. */
export function asArrayBufferView(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (let i = 0; i < view.length; i++) out += HEX[view[i]!];
  return out;
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Decodes hex; null when the string is not even-length hex. */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> | null {
  if (!HEX_RE.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export async function sha256Hex(body: Uint8Array | string | null | undefined): Promise<string> {
  const bytes = toBytes(body);
  if (bytes.length === 0) return EMPTY_BODY_SHA256;
  return toHex(await crypto.subtle.digest('SHA-256', bytes));
}

/** 128 random bits as 32 lowercase hex characters. */
export function randomNonce(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}

const keyCache = new Map<string, Promise<CryptoKey>>();
const KEY_CACHE_LIMIT = 64;

/** Imports an HMAC-SHA256 key once per secret; the CryptoKey is reused for every later request. */
export function importHmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    // A handful of secrets exist at once (rotation); the bound only guards against misuse.
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(secret, key);
    key.catch(() => keyCache.delete(secret));
  }
  return key;
}

export function encodeUtf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

import {
  canonicalString,
  encodeUtf8,
  importHmacKey,
  randomNonce,
  SIGNATURE_HEADERS,
  sha256Hex,
  toHex,
} from './canonical.ts';

export interface SignRequestInput {
  method: string;
  /**
   * Path and query exactly as they go on the wire. With `fetch`, sign `url.pathname + url.search` of the
   * `URL` object that is fetched, so normalisation by the URL parser happens before signing.
   */
  pathWithQuery: string;
  body: Uint8Array | string | null;
  keyId: string;
  secret: string;
  /** Epoch milliseconds; defaults to `Date.now`. */
  now?: () => number;
  /** For tests; defaults to 128 random bits. */
  nonce?: string;
}

/** Returns the `X-AIServe-*` headers to add to the request. */
export async function signRequest(input: SignRequestInput): Promise<Record<string, string>> {
  const timestamp = Math.floor((input.now ?? Date.now)() / 1000);
  const nonce = input.nonce ?? randomNonce();
  const bodySha256 = await sha256Hex(input.body);
  const canonical = canonicalString({
    method: input.method,
    pathWithQuery: input.pathWithQuery,
    timestamp,
    nonce,
    bodySha256,
  });
  const key = await importHmacKey(input.secret);
  const signature = toHex(await crypto.subtle.sign('HMAC', key, encodeUtf8(canonical)));
  return {
    [SIGNATURE_HEADERS.keyId]: input.keyId,
    [SIGNATURE_HEADERS.timestamp]: String(timestamp),
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.contentSha256]: bodySha256,
    [SIGNATURE_HEADERS.signature]: signature,
  };
}

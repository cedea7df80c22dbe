export {
  type CanonicalRequest,
  canonicalString,
  EMPTY_BODY_SHA256,
  fromHex,
  importHmacKey,
  randomNonce,
  SIGNATURE_HEADERS,
  SIGNING_ALGORITHM,
  sha256Hex,
  toHex,
} from './canonical.ts';
export { MemoryReplayCache, type MemoryReplayCacheOptions, type ReplayCache } from './replay-cache.ts';
export { type SignRequestInput, signRequest } from './sign.ts';
export {
  createVerifier,
  type HeaderReader,
  type Verifier,
  type VerifierOptions,
  type VerifyFailureReason,
  type VerifyInput,
  type VerifyResult,
} from './verify.ts';

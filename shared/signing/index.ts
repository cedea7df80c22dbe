export {
  canonicalString,
  EMPTY_BODY_SHA256,
  fromHex,
  randomNonce,
  SIGNATURE_HEADERS,
  SIGNING_ALGORITHM,
  sha256Hex,
  toHex,
} from './canonical.ts';
export { MemoryReplayCache } from './replay-cache.ts';
export { signRequest } from './sign.ts';
export {
  createVerifier,
  type Verifier,
  type VerifyFailureReason,
  type VerifyInput,
} from './verify.ts';

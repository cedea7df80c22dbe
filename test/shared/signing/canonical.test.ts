import { describe, expect, it } from 'vitest';
import {
  canonicalString,
  EMPTY_BODY_SHA256,
  fromHex,
  randomNonce,
  SIGNING_ALGORITHM,
  sha256Hex,
  toHex,
} from '../../../shared/signing/index.ts';

describe('canonical string', () => {
  it('joins the fields with newlines, method upper-cased, path untouched', () => {
    const s = canonicalString({
      method: 'post',
      pathWithQuery: '/v2/models/m/infer?b=2&a=1',
      timestamp: 1700000000,
      nonce: 'ab'.repeat(16),
      bodySha256: EMPTY_BODY_SHA256,
    });
    expect(s).toBe(
      `${SIGNING_ALGORITHM}\nPOST\n/v2/models/m/infer?b=2&a=1\n1700000000\n${'ab'.repeat(16)}\n${EMPTY_BODY_SHA256}`,
    );
  });

  it('hashes bodies as hex sha256', async () => {
    expect(await sha256Hex(null)).toBe(EMPTY_BODY_SHA256);
    expect(await sha256Hex('')).toBe(EMPTY_BODY_SHA256);
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(await sha256Hex('abc'));
  });

  it('round-trips hex and rejects malformed hex', () => {
    const bytes = new Uint8Array([0, 1, 127, 128, 255]);
    expect(toHex(bytes)).toBe('00017f80ff');
    expect(fromHex('00017f80ff')).toEqual(bytes);
    expect(fromHex('abc')).toBeNull();
    expect(fromHex('zz')).toBeNull();
  });

  it('makes 128-bit hex nonces', () => {
    const a = randomNonce();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(randomNonce()).not.toBe(a);
  });
});

import { describe, expect, it } from 'vitest';
import { sha256HexSync } from '../../shared/sha256-sync.ts';
import { sha256Hex } from '../../shared/signing/index.ts';

describe('sha256HexSync', () => {
  it('matches the FIPS 180-4 test vectors', () => {
    expect(sha256HexSync(new Uint8Array(0))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(sha256HexSync(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('hashes a view by its own bytes (not its whole buffer), as WebCrypto does, at every block boundary', async () => {
    const data = new Uint8Array(300);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
    for (const n of [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 255, 299]) {
      const view = data.subarray(1, 1 + n);
      expect(sha256HexSync(view)).toBe(await sha256Hex(view.slice()));
    }
  });
});

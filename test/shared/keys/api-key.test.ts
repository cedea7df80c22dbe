import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateApiKey,
  hashKeySecret,
  parseApiKey,
  SECRET_LENGTH,
  timingSafeEqualHex,
} from '../../../shared/keys/api-key.ts';

describe('api key format', () => {
  it('generates ais_live_<12 base32>_<40 base62> keys that parse back into their parts', () => {
    const g = generateApiKey();
    expect(g.key).toMatch(/^ais_live_[a-z2-7]{12}_[A-Za-z0-9]{40}$/);
    expect(g.secret).toHaveLength(SECRET_LENGTH);
    expect(parseApiKey(g.key)).toEqual({ env: 'live', prefix: g.prefix, secret: g.secret });
  });

  it('generates test keys when asked', () => {
    const g = generateApiKey('test');
    expect(g.key.startsWith('ais_test_')).toBe(true);
    expect(parseApiKey(g.key)?.env).toBe('test');
  });

  it('never repeats a prefix or secret over 2000 keys', () => {
    const prefixes = new Set<string>();
    const secrets = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const g = generateApiKey();
      prefixes.add(g.prefix);
      secrets.add(g.secret);
    }
    expect(prefixes.size).toBe(2000);
    expect(secrets.size).toBe(2000);
  });

  it('accepts hex prefixes too (either alphabet is allowed by the contract)', () => {
    const key = `ais_live_0123456789ab_${'a'.repeat(32)}`;
    expect(parseApiKey(key)).toEqual({ env: 'live', prefix: '0123456789ab', secret: 'a'.repeat(32) });
  });

  it.each([
    ['empty', ''],
    ['wrong scheme', `sk_live_abcdefghijkl_${'a'.repeat(40)}`],
    ['unknown env', `ais_prod_abcdefghijkl_${'a'.repeat(40)}`],
    ['short prefix', `ais_live_abcdefghijk_${'a'.repeat(40)}`],
    ['uppercase prefix', `ais_live_ABCDEFGHIJKL_${'a'.repeat(40)}`],
    ['short secret', `ais_live_abcdefghijkl_${'a'.repeat(31)}`],
    ['non-base62 secret', `ais_live_abcdefghijkl_${'a'.repeat(39)}-`],
    ['trailing space', `ais_live_abcdefghijkl_${'a'.repeat(40)} `],
    ['huge', `ais_live_abcdefghijkl_${'a'.repeat(5000)}`],
  ])('rejects a malformed key (%s)', (_what, raw) => {
    expect(parseApiKey(raw)).toBeNull();
  });

  it('hashes the secret as SHA-256 hex, the same digest Node computes', async () => {
    const secret = generateApiKey().secret;
    expect(await hashKeySecret(secret)).toBe(createHash('sha256').update(secret).digest('hex'));
  });

  it('compares digests exactly: equal, one character off, different length', async () => {
    const a = await hashKeySecret('x');
    expect(timingSafeEqualHex(a, a)).toBe(true);
    const flipped = a.slice(0, -1) + (a.endsWith('0') ? '1' : '0');
    expect(timingSafeEqualHex(a, flipped)).toBe(false);
    expect(timingSafeEqualHex(a, a.slice(1))).toBe(false);
  });
});

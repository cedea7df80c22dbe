import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResponseCache, StoredResponse } from '../../workers/stores/responses/stored-response.ts';

export interface ResponseCacheFixture {
  cache: ResponseCache;
  /** Moves the implementation's clock forward; absent where time cannot be faked (Redis: TTL checked apart). */
  advance?: (ms: number) => void;
  cleanup(): Promise<void>;
}

function sample(overrides: Partial<StoredResponse> = {}): StoredResponse {
  const body = new Uint8Array(512);
  for (let i = 0; i < body.length; i++) body[i] = i % 256;
  return {
    status: 200,
    headers: [
      ['content-type', 'application/octet-stream'],
      ['inference-header-content-length', '17'],
    ],
    body,
    storedAt: 1_700_000_000_123,
    ...overrides,
  };
}

/** The behaviour every ResponseCache tier must share (memory-cache.ts, redis-cache.ts). */
export function responseCacheContract(name: string, create: () => Promise<ResponseCacheFixture>): void {
  describe(`${name} (ResponseCache contract)`, () => {
    let fixture: ResponseCacheFixture;
    beforeEach(async () => {
      fixture = await create();
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('returns null for a key never stored', async () => {
      expect(await fixture.cache.get('missing')).toBeNull();
    });

    it('returns status, headers, every body byte and storedAt as stored', async () => {
      const value = sample();
      await fixture.cache.set('k1', value, 60);
      const got = await fixture.cache.get('k1');
      expect(got).not.toBeNull();
      expect(got!.status).toBe(200);
      expect(got!.headers).toEqual(value.headers);
      expect(got!.storedAt).toBe(value.storedAt);
      expect([...got!.body]).toEqual([...value.body]);
    });

    it('stores an empty body', async () => {
      await fixture.cache.set('empty', sample({ body: new Uint8Array(0), headers: [] }), 60);
      const got = await fixture.cache.get('empty');
      expect(got?.body.byteLength).toBe(0);
      expect(got?.headers).toEqual([]);
    });

    it('stores nothing for a TTL of 0', async () => {
      await fixture.cache.set('zero', sample(), 0);
      expect(await fixture.cache.get('zero')).toBeNull();
    });

    it('replaces an entry on a second set and forgets it on delete', async () => {
      await fixture.cache.set('k2', sample({ status: 200, storedAt: 1 }), 60);
      await fixture.cache.set('k2', sample({ storedAt: 2 }), 60);
      expect((await fixture.cache.get('k2'))?.storedAt).toBe(2);
      await fixture.cache.delete('k2');
      expect(await fixture.cache.get('k2')).toBeNull();
    });

    it('keeps entries under different keys apart', async () => {
      await fixture.cache.set('a', sample({ storedAt: 10 }), 60);
      await fixture.cache.set('b', sample({ storedAt: 20 }), 60);
      expect((await fixture.cache.get('a'))?.storedAt).toBe(10);
      expect((await fixture.cache.get('b'))?.storedAt).toBe(20);
    });

    it('is not affected by the caller changing its buffer after set', async () => {
      const value = sample();
      await fixture.cache.set('copy', value, 60);
      value.body[0] = 99;
      expect((await fixture.cache.get('copy'))?.body[0]).toBe(0);
    });

    it('expires an entry after its TTL', async (ctx) => {
      if (!fixture.advance) ctx.skip();
      await fixture.cache.set('ttl', sample(), 2);
      fixture.advance!(1_500);
      expect(await fixture.cache.get('ttl')).not.toBeNull();
      fixture.advance!(600);
      expect(await fixture.cache.get('ttl')).toBeNull();
    });
  });
}

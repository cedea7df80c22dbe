import { describe, expect, it } from 'vitest';
import { MemoryCache } from '../../../../workers/stores/responses/memory-cache.ts';
import type { StoredResponse } from '../../../../workers/stores/responses/stored-response.ts';
import { responseCacheContract } from '../../../support/response-cache.contract.ts';

responseCacheContract('MemoryCache', async () => {
  let now = 1_000_000;
  return {
    cache: new MemoryCache({ maxBytes: 1 << 20, now: () => now }),
    advance: (ms) => {
      now += ms;
    },
    cleanup: async () => {},
  };
});

function entry(bytes: number): StoredResponse {
  return { status: 200, headers: [], body: new Uint8Array(bytes), storedAt: 0 };
}

describe('MemoryCache byte budget', () => {
  it('evicts the least recently used entries once the budget is exceeded', async () => {
    const cache = new MemoryCache({ maxBytes: 3_000, maxEntryBytes: 3_000 });
    await cache.set('a', entry(900), 60);
    await cache.set('b', entry(900), 60);
    await cache.set('c', entry(900), 60);
    // Reading `a` makes `b` the least recently used.
    expect(await cache.get('a')).not.toBeNull();
    await cache.set('d', entry(900), 60);
    expect(await cache.get('b')).toBeNull();
    expect(await cache.get('a')).not.toBeNull();
    expect(await cache.get('c')).not.toBeNull();
    expect(await cache.get('d')).not.toBeNull();
    expect(cache.bytes).toBeLessThanOrEqual(3_000);
  });

  it('does not store an entry larger than the per-entry limit', async () => {
    const cache = new MemoryCache({ maxBytes: 10_000, maxEntryBytes: 1_000 });
    await cache.set('big', entry(2_000), 60);
    expect(await cache.get('big')).toBeNull();
    expect(cache.bytes).toBe(0);
  });

  it('accounts bytes back when entries are replaced or deleted', async () => {
    const cache = new MemoryCache({ maxBytes: 10_000 });
    await cache.set('a', entry(500), 60);
    const one = cache.bytes;
    await cache.set('a', entry(500), 60);
    expect(cache.bytes).toBe(one);
    await cache.delete('a');
    expect(cache.bytes).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { MemoryReplayCache } from '../../../shared/signing/index.ts';

describe('MemoryReplayCache', () => {
  it('returns true the first time and false for a repeat', async () => {
    const cache = new MemoryReplayCache({ now: () => 0 });
    expect(await cache.checkAndRemember('a', 10)).toBe(true);
    expect(await cache.checkAndRemember('a', 10)).toBe(false);
    expect(await cache.checkAndRemember('b', 10)).toBe(true);
  });

  it('forgets a nonce after its ttl', async () => {
    let now = 0;
    const cache = new MemoryReplayCache({ now: () => now });
    await cache.checkAndRemember('a', 10);
    now = 9_999;
    expect(await cache.checkAndRemember('a', 10)).toBe(false);
    now = 10_000;
    expect(await cache.checkAndRemember('a', 10)).toBe(true);
  });

  it('sweeps expired entries so memory follows the live window', async () => {
    let now = 0;
    const cache = new MemoryReplayCache({ now: () => now });
    for (let i = 0; i < 1000; i++) await cache.checkAndRemember(`n${i}`, 1);
    expect(cache.size).toBe(1000);
    now = 1_001;
    await cache.checkAndRemember('fresh', 1);
    expect(cache.size).toBe(1);
  });

  it('stays bounded under a flood, dropping the oldest entries', async () => {
    const cache = new MemoryReplayCache({ maxEntries: 100, now: () => 0 });
    for (let i = 0; i < 10_000; i++) expect(await cache.checkAndRemember(`n${i}`, 600)).toBe(true);
    expect(cache.size).toBe(100);
    expect(cache.evictions).toBe(9_900);
    // The newest are still remembered.
    expect(await cache.checkAndRemember('n9999', 600)).toBe(false);
    expect(await cache.checkAndRemember('n9900', 600)).toBe(false);
  });

  it('handles an entry with a shorter ttl behind a longer one', async () => {
    let now = 0;
    const cache = new MemoryReplayCache({ now: () => now });
    await cache.checkAndRemember('long', 100);
    await cache.checkAndRemember('short', 1);
    now = 2_000;
    expect(await cache.checkAndRemember('short', 1)).toBe(true);
    expect(await cache.checkAndRemember('long', 100)).toBe(false);
  });
});

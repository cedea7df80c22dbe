import { describe, expect, it } from 'vitest';
import type { ModelCacheSettings } from '../../../../workers/cache/policy.ts';
import { ModelSettingsCache } from '../../../../workers/stores/models/model-settings.ts';

const row = (cacheTtlSeconds: number): ModelCacheSettings => ({
  cacheable: true,
  cacheTtlSeconds,
  shareable: false,
  visibility: 'public',
  ownerTenantId: null,
});

/** A loader whose loads finish when the test says so. */
function gatedLoader() {
  const gates: ((value: ModelCacheSettings | null) => void)[] = [];
  let loads = 0;
  return {
    load: () => {
      loads++;
      return new Promise<ModelCacheSettings | null>((resolve) => gates.push(resolve));
    },
    finish: (value: ModelCacheSettings | null) => gates.shift()!(value),
    loads: () => loads,
  };
}

describe('model settings cache', () => {
  it('shares the first load: every caller waits for the one load', async () => {
    const loader = gatedLoader();
    const cache = new ModelSettingsCache({ load: loader.load, now: () => 0 });
    const a = cache.get('m');
    const b = cache.get('m');
    loader.finish(row(60));
    expect(await a).toEqual(row(60));
    expect(await b).toEqual(row(60));
    expect(loader.loads()).toBe(1);
  });

  it('after expiry, only the caller that starts the reload waits; others get the known settings at once', async () => {
    let now = 0;
    const loader = gatedLoader();
    const cache = new ModelSettingsCache({ load: loader.load, ttlMs: 1_000, now: () => now });
    const first = cache.get('m');
    loader.finish(row(60));
    await first;
    now = 2_000;
    const reloading = cache.get('m');
    let otherSettled = false;
    const other = cache.get('m').then((s) => {
      otherSettled = true;
      return s;
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(otherSettled).toBe(true);
    expect(await other).toEqual(row(60));
    loader.finish(row(120));
    expect(await reloading).toEqual(row(120));
    expect(loader.loads()).toBe(2);
    expect(await cache.get('m')).toEqual(row(120));
  });
});

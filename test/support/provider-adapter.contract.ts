import { afterEach, describe, expect, it } from 'vitest';
import {
  type LaunchRequest,
  type ProviderAdapter,
  ProviderError,
  type ProviderErrorKind,
} from '../../workers/control/providers/types.ts';
import type { FakeCloud } from './provider-fakes/fake-cloud.ts';

/**
 * The behaviour every ProviderAdapter must show against its provider's fake: launch/get/list/terminate, state
 * mapping as a host boots, error mapping, and idempotent launch under retry (including a retry after a
 * launch whose answer never came). Run once per adapter+fake pair.
 */
interface StartedProvider {
  adapter: ProviderAdapter;
  cloud: FakeCloud;
  close(): Promise<void>;
}

export interface ProviderHarness {
  name: string;
  /** Our GPU type the harness maps, and its provider type in the fake's catalogue. */
  gpuType: string;
  providerType: string;
  region: string;
  hourlyCostUsd: number;
  start(options: {
    now: () => number;
    bootDelayMs: number;
    capacity?: number;
    /** Adapter per-call timeout. */
    timeoutMs?: number;
    apiKey?: string;
  }): Promise<StartedProvider>;
}

async function kindOf(promise: Promise<unknown>): Promise<ProviderErrorKind | 'resolved'> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    if (err instanceof ProviderError) return err.kind;
    throw err;
  }
}

export function providerAdapterContract(h: ProviderHarness): void {
  describe(`${h.name} adapter contract`, () => {
    let time = 1_700_000_000_000;
    const now = () => time;
    const started: StartedProvider[] = [];
    const start = async (options: Partial<Parameters<ProviderHarness['start']>[0]> = {}) => {
      const s = await h.start({ now, bootDelayMs: 60_000, ...options });
      started.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(started.splice(0).map((s) => s.close()));
    });
    const request = (clientToken: string): LaunchRequest => ({
      clientToken,
      gpuType: h.gpuType,
      image: 'ghcr.io/aiserve/origin:1.0.0',
      env: { ORIGIN_ID: `o-${clientToken}`, ORIGIN_SIGNING_KEYS: "k1:s3cr3t'quoted" },
    });

    it('launches a booting instance that carries the client token, our GPU type, region and price', async () => {
      const { adapter, cloud } = await start();
      const instance = await adapter.launch(request('tok-1'));
      expect(instance).toMatchObject({
        provider: adapter.name,
        clientToken: 'tok-1',
        status: 'booting',
        gpuType: h.gpuType,
        region: h.region,
        hourlyCostUsd: h.hourlyCostUsd,
      });
      expect(cloud.live()).toHaveLength(1);
      expect(await adapter.get(instance.providerInstanceId)).toMatchObject({
        providerInstanceId: instance.providerInstanceId,
        status: 'booting',
      });
    });

    it('reports running with a public URL once the host has booted', async () => {
      const { adapter } = await start({ bootDelayMs: 60_000 });
      const { providerInstanceId } = await adapter.launch(request('tok-boot'));
      time += 61_000;
      const instance = await adapter.get(providerInstanceId);
      expect(instance?.status).toBe('running');
      expect(instance?.publicUrl).toMatch(/^https?:\/\//);
    });

    it('reports a crashed host as failed', async () => {
      const { adapter, cloud } = await start({ bootDelayMs: 0 });
      const { providerInstanceId } = await adapter.launch(request('tok-crash'));
      cloud.instances.get(providerInstanceId)!.forced = 'failed';
      expect((await adapter.get(providerInstanceId))?.status).toBe('failed');
    });

    it('a retried launch with the same client token returns the first instance instead of a second host', async () => {
      const { adapter, cloud } = await start();
      const first = await adapter.launch(request('tok-same'));
      const second = await adapter.launch(request('tok-same'));
      expect(second.providerInstanceId).toBe(first.providerInstanceId);
      expect(cloud.live()).toHaveLength(1);
    });

    it('a retry after a launch whose answer never came finds the host the first call started', async () => {
      const { adapter, cloud } = await start({ timeoutMs: 1_500 });
      cloud.hangLaunches = 1;
      expect(await kindOf(adapter.launch(request('tok-hang')))).toBe('transient');
      expect(cloud.live()).toHaveLength(1);
      const retried = await adapter.launch(request('tok-hang'));
      expect(retried.clientToken).toBe('tok-hang');
      expect(cloud.live()).toHaveLength(1);
    });

    it('lists only instances it launched, not other instances on the account', async () => {
      const { adapter, cloud } = await start();
      await adapter.launch(request('tok-a'));
      cloud.create({
        id: '999',
        name: 'someone-elses-notebook',
        providerType: h.providerType,
        region: h.region,
        hourlyCostUsd: 1,
        image: 'x',
        env: {},
        userData: null,
      });
      const listed = await adapter.list();
      expect(listed.map((i) => i.clientToken)).toEqual(['tok-a']);
    });

    it('terminate removes the instance, and terminating it again resolves', async () => {
      const { adapter, cloud } = await start();
      const { providerInstanceId } = await adapter.launch(request('tok-term'));
      await adapter.terminate(providerInstanceId);
      expect(cloud.live()).toHaveLength(0);
      const after = await adapter.get(providerInstanceId);
      expect(after === null || after.status === 'terminated').toBe(true);
      await expect(adapter.terminate(providerInstanceId)).resolves.toBeUndefined();
      expect(await adapter.list()).toEqual([]);
    });

    it('get of an unknown instance is null', async () => {
      const { adapter } = await start();
      expect(await adapter.get('12345678')).toBeNull();
    });

    it('lists offers for a mapped GPU type with their hourly price, and none for an unmapped one', async () => {
      const { adapter } = await start();
      const offers = await adapter.listOffers(h.gpuType);
      expect(offers.length).toBeGreaterThan(0);
      expect(offers[0]).toMatchObject({
        provider: adapter.name,
        gpuType: h.gpuType,
        hourlyCostUsd: h.hourlyCostUsd,
      });
      expect(await adapter.listOffers('NO-SUCH-GPU')).toEqual([]);
    });

    it('maps exhausted capacity to no_capacity', async () => {
      const { adapter } = await start({ capacity: 1 });
      await adapter.launch(request('tok-cap-1'));
      expect(await kindOf(adapter.launch(request('tok-cap-2')))).toBe('no_capacity');
    });

    it('maps an exhausted account to quota', async () => {
      const { adapter, cloud } = await start();
      cloud.quotaExceeded = true;
      expect(await kindOf(adapter.launch(request('tok-quota')))).toBe('quota');
    });

    it('maps a rejected API key to auth', async () => {
      const { adapter } = await start({ apiKey: 'wrong-key' });
      expect(await kindOf(adapter.list())).toBe('auth');
    });

    it('maps 429 to rate_limited and a 5xx to transient', async () => {
      const { adapter, cloud } = await start();
      cloud.rateLimitNext(1);
      expect(await kindOf(adapter.list())).toBe('rate_limited');
      cloud.failNext(1, 503);
      expect(await kindOf(adapter.list())).toBe('transient');
      expect(await kindOf(adapter.list())).toBe('resolved');
    });

    it('maps an unreachable provider to transient', async () => {
      const s = await start();
      await s.close();
      expect(await kindOf(s.adapter.list())).toBe('transient');
    });
  });
}

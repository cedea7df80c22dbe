import { describe, expect, it } from 'vitest';
import { createRunPodAdapter } from '../../../../workers/control/providers/runpod.ts';
import { providerAdapterContract } from '../../../support/provider-adapter.contract.ts';
import { startFakeRunPod } from '../../../support/provider-fakes/runpod.ts';

const gpuTypes = { 'A100-80GB': 'NVIDIA A100 80GB PCIe' };

providerAdapterContract({
  name: 'runpod',
  gpuType: 'A100-80GB',
  providerType: 'NVIDIA A100 80GB PCIe',
  region: 'EU-RO-1',
  hourlyCostUsd: 1.64,
  async start({ now, bootDelayMs, capacity, timeoutMs, apiKey }) {
    const fake = await startFakeRunPod({
      apiKey: 'rp-key',
      now,
      bootDelayMs,
      catalog: [{ providerType: 'NVIDIA A100 80GB PCIe', region: 'EU-RO-1', hourlyCostUsd: 1.64 }],
      capacity: capacity === undefined ? undefined : { 'NVIDIA A100 80GB PCIe': capacity },
    });
    const adapter = createRunPodAdapter({
      apiKey: apiKey ?? 'rp-key',
      baseUrl: fake.baseUrl,
      gpuTypes,
      prices: { 'A100-80GB': 1.64 },
      timeoutMs,
      now,
    });
    return { adapter, cloud: fake.cloud, close: fake.close };
  },
});

describe('runpod adapter request shapes', () => {
  it('creates a GPU pod named after the token with the image, env, port 8000/http and the data centre', async () => {
    const fake = await startFakeRunPod({
      apiKey: 'k',
      catalog: [{ providerType: 'NVIDIA A100 80GB PCIe', region: 'US-TX-3', hourlyCostUsd: 1.9 }],
    });
    try {
      const adapter = createRunPodAdapter({ apiKey: 'k', baseUrl: fake.baseUrl, gpuTypes });
      const instance = await adapter.launch({
        clientToken: 't1',
        gpuType: 'A100-80GB',
        region: 'US-TX-3',
        image: 'img:1',
        env: { ORIGIN_ID: 'o1' },
      });
      expect(instance.publicUrl).toBe(`https://${instance.providerInstanceId}-8000.proxy.runpod.net`);
      expect(fake.cloud.live()[0]).toMatchObject({
        name: 'aiserve-t1',
        image: 'img:1',
        env: { ORIGIN_ID: 'o1' },
      });
      await expect(
        adapter.launch({ clientToken: 't2', gpuType: 'A100-80GB', region: 'EU-SE-1', image: 'img', env: {} }),
      ).rejects.toMatchObject({ kind: 'no_capacity' });
    } finally {
      await fake.close();
    }
  });
});

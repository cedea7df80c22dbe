import { describe, expect, it } from 'vitest';
import { createVastAiAdapter } from '../../../../workers/control/providers/vast-ai.ts';
import { providerAdapterContract } from '../../../support/provider-adapter.contract.ts';
import { startFakeVastAi } from '../../../support/provider-fakes/vast-ai.ts';

const gpuTypes = { 'A100-80GB': 'A100 SXM4' };

providerAdapterContract({
  name: 'vast-ai',
  gpuType: 'A100-80GB',
  providerType: 'A100 SXM4',
  region: 'US',
  hourlyCostUsd: 1.1,
  async start({ now, bootDelayMs, capacity, timeoutMs, apiKey }) {
    const fake = await startFakeVastAi({
      apiKey: 'vast-key',
      now,
      bootDelayMs,
      catalog: [
        { providerType: 'A100 SXM4', region: 'US', hourlyCostUsd: 1.1 },
        { providerType: 'RTX 4090', region: 'EU', hourlyCostUsd: 0.4 },
      ],
      capacity: capacity === undefined ? undefined : { 'A100 SXM4': capacity },
    });
    const adapter = createVastAiAdapter({
      apiKey: apiKey ?? 'vast-key',
      baseUrl: fake.baseUrl,
      gpuTypes,
      timeoutMs,
    });
    return { adapter, cloud: fake.cloud, close: fake.close };
  },
});

describe('vast-ai adapter request shapes', () => {
  it('rents the cheapest matching offer with the image, a label carrying the token, env and the port mapping', async () => {
    const fake = await startFakeVastAi({
      apiKey: 'k',
      catalog: [
        { providerType: 'A100 SXM4', region: 'US', hourlyCostUsd: 1.4 },
        { providerType: 'A100 SXM4', region: 'EU', hourlyCostUsd: 1.2 },
      ],
    });
    try {
      const adapter = createVastAiAdapter({ apiKey: 'k', baseUrl: fake.baseUrl, gpuTypes });
      const instance = await adapter.launch({
        clientToken: 't1',
        gpuType: 'A100-80GB',
        image: 'img:1',
        env: { ORIGIN_ID: 'o1' },
      });
      expect(instance.region).toBe('EU');
      const created = fake.cloud.live()[0]!;
      expect(created).toMatchObject({ name: 'aiserve-t1', image: 'img:1' });
      expect(created.env).toEqual({ ORIGIN_ID: 'o1', '-p 8000:8000': '1' });
      expect(fake.cloud.requests.some((r) => r.startsWith('PUT /api/v0/asks/5001/'))).toBe(true);
    } finally {
      await fake.close();
    }
  });

  it('moves to the next offer when the cheapest is rented under it', async () => {
    const fake = await startFakeVastAi({
      apiKey: 'k',
      catalog: [{ providerType: 'A100 SXM4', region: 'US', hourlyCostUsd: 1.4 }],
    });
    try {
      const adapter = createVastAiAdapter({
        apiKey: 'k',
        baseUrl: fake.baseUrl,
        gpuTypes,
        // A fetch that makes the first ask vanish between search and accept.
        fetch: async (input, init) => {
          if (init?.method === 'PUT' && !fake.cloud.requests.some((r) => r.startsWith('PUT'))) {
            fake.cloud.requests.push('PUT (raced)');
            return new Response(
              JSON.stringify({ success: false, error: 'invalid_args', msg: 'error 404/3603: no_such_ask' }),
              { status: 400 },
            );
          }
          return fetch(input, init);
        },
      });
      const offers = await adapter.listOffers('A100-80GB');
      expect(offers).toHaveLength(1);
      await expect(
        adapter.launch({ clientToken: 't2', gpuType: 'A100-80GB', image: 'img', env: {} }),
      ).rejects.toMatchObject({ kind: 'no_capacity' });
    } finally {
      await fake.close();
    }
  });
});

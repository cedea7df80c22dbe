import { describe, expect, it } from 'vitest';
import { createLambdaAdapter } from '../../../../workers/control/providers/lambda.ts';
import { providerAdapterContract } from '../../../support/provider-adapter.contract.ts';
import { startFakeLambda } from '../../../support/provider-fakes/lambda.ts';

const gpuTypes = { 'A100-80GB': 'gpu_1x_a100_sxm4' };

providerAdapterContract({
  name: 'lambda',
  gpuType: 'A100-80GB',
  providerType: 'gpu_1x_a100_sxm4',
  region: 'us-east-1',
  hourlyCostUsd: 1.29,
  async start({ now, bootDelayMs, capacity, timeoutMs, apiKey }) {
    const fake = await startFakeLambda({
      apiKey: 'lambda-key',
      now,
      bootDelayMs,
      catalog: [{ providerType: 'gpu_1x_a100_sxm4', region: 'us-east-1', hourlyCostUsd: 1.29 }],
      capacity: capacity === undefined ? undefined : { gpu_1x_a100_sxm4: capacity },
    });
    const adapter = createLambdaAdapter({
      apiKey: apiKey ?? 'lambda-key',
      baseUrl: fake.baseUrl,
      gpuTypes,
      sshKeyName: 'ops',
      timeoutMs,
      now,
    });
    return { adapter, cloud: fake.cloud, close: fake.close };
  },
});

describe('lambda adapter request shapes', () => {
  it('launches in a region with capacity, named after the token, with a cloud-init script that runs the image', async () => {
    const fake = await startFakeLambda({
      apiKey: 'k',
      catalog: [
        { providerType: 'gpu_1x_a100_sxm4', region: 'us-west-1', hourlyCostUsd: 1.29 },
        { providerType: 'gpu_1x_a100_sxm4', region: 'us-east-1', hourlyCostUsd: 1.29 },
      ],
      capacity: { gpu_1x_a100_sxm4: 5 },
    });
    try {
      const adapter = createLambdaAdapter({
        apiKey: 'k',
        baseUrl: fake.baseUrl,
        gpuTypes,
        sshKeyName: 'ops',
      });
      await adapter.launch({
        clientToken: 't1',
        gpuType: 'A100-80GB',
        region: 'us-east-1',
        image: 'ghcr.io/aiserve/origin:1',
        env: { ORIGIN_ID: 'o1', ORIGIN_SIGNING_KEYS: "k1:it's" },
      });
      const created = fake.cloud.live()[0]!;
      expect(created).toMatchObject({ name: 'aiserve-t1', region: 'us-east-1' });
      expect(created.userData).toContain("docker pull 'ghcr.io/aiserve/origin:1'");
      expect(created.userData).toContain("ORIGIN_SIGNING_KEYS=k1:it's");
      expect(created.userData).toContain('--env-file /etc/aiserve/origin.env');
    } finally {
      await fake.close();
    }
  });

  it('accepts HTTP Basic auth with the key as user name, as Lambda documents', async () => {
    const fake = await startFakeLambda({ apiKey: 'k' });
    try {
      const res = await fetch(`${fake.baseUrl}/instances`, {
        headers: { authorization: `Basic ${Buffer.from('k:').toString('base64')}` },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: [] });
    } finally {
      await fake.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultOriginId, fleetConfigProblems } from '../../../origin/fleet/join-fleet.ts';
import { exampleClsRequest } from '../../../scripts/dev/example-request.ts';
import { listLiveOrigins } from '../../../shared/fleet/registry.ts';
import { originKey } from '../../../shared/redis-keys.ts';
import { makeRepository, startHarness } from '../../e2e/origin-harness.ts';
import { type RegistryFixture, startRegistryFixture } from '../../shared/fleet/registry-fixture.ts';

let fx: RegistryFixture;
beforeAll(async () => {
  fx = await startRegistryFixture();
});
afterAll(async () => {
  await fx?.close();
});

const listed = async (id: string) => (await listLiveOrigins(fx.redis, Date.now())).find((o) => o.id === id);

async function eventually<T>(probe: () => Promise<T | undefined>, polls = 200): Promise<T | undefined> {
  for (let i = 0; i < polls; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

describe('a real origin joins the fleet registry', () => {
  it('registers itself when ready with its URL, region, models and capacity, reports latency, and leaves on drain', async () => {
    const id = fx.id('origin');
    const h = await startHarness(
      {
        REGISTRY_REDIS_REST_URL: fx.bridgeUrl,
        REGISTRY_REDIS_REST_TOKEN: fx.bridgeToken,
        ORIGIN_ID: id,
        ORIGIN_REGION: 'eu-test',
        ORIGIN_INSTANCE_ID: 'vast-123',
        HEARTBEAT_INTERVAL_MS: '200',
        HEARTBEAT_TTL_MS: '2000',
      },
      await makeRepository(),
    );
    let closed = false;
    try {
      const rec = await listed(id);
      expect(rec).toMatchObject({
        id,
        url: h.url,
        region: 'eu-test',
        status: 'ready',
        instanceId: 'vast-123',
      });
      expect(rec?.models).toEqual(
        expect.arrayContaining([
          { name: 'ocr-cls', versions: ['1'] },
          { name: 'ocr-det', versions: ['1'] },
        ]),
      );
      expect(rec?.capacity.maxInflight).toBeGreaterThanOrEqual(2);

      const res = await h.call('POST', '/v2/models/ocr-cls/infer', {
        body: JSON.stringify(exampleClsRequest()),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(200);
      const withLatency = await eventually(async () => {
        const r = await listed(id);
        return r?.load.p50LatencyMs != null ? r : undefined;
      });
      expect(withLatency?.load.p50LatencyMs).toBeGreaterThan(0);
      expect(withLatency?.heartbeatAt).toBeGreaterThan(rec!.heartbeatAt);

      await h.close();
      closed = true;
      expect(await listed(id)).toBeUndefined();
      expect(await fx.direct.exists(originKey(id))).toBe(0);
    } finally {
      if (!closed) await h.close();
    }
  });

  it('a origin without registry variables runs standalone and writes nothing', async () => {
    const id = fx.id('standalone');
    const h = await startHarness({ ORIGIN_ID: id }, await makeRepository());
    try {
      expect(await fx.direct.exists(originKey(id))).toBe(0);
    } finally {
      await h.close();
    }
  });
});

describe('fleet registry configuration', () => {
  const base = {
    REGISTRY_REDIS_REST_URL: undefined,
    REGISTRY_REDIS_REST_TOKEN: undefined,
    ORIGIN_PUBLIC_URL: undefined,
    ORIGIN_ID: undefined,
    ORIGIN_REGION: 'local',
    ORIGIN_INSTANCE_ID: undefined,
    HEARTBEAT_INTERVAL_MS: 5_000,
    HEARTBEAT_TTL_MS: 15_000,
  };

  it('names every inconsistent variable', () => {
    expect(
      fleetConfigProblems({
        ...base,
        REGISTRY_REDIS_REST_URL: 'http://127.0.0.1:8079',
        HEARTBEAT_TTL_MS: 5_000,
      }),
    ).toEqual([
      'REGISTRY_REDIS_REST_TOKEN: required when REGISTRY_REDIS_REST_URL is set',
      'HEARTBEAT_TTL_MS: must exceed HEARTBEAT_INTERVAL_MS (5000) (got 5000)',
    ]);
    expect(fleetConfigProblems({ ...base, REGISTRY_REDIS_REST_TOKEN: 't' })).toEqual([
      'REGISTRY_REDIS_REST_URL: required when REGISTRY_REDIS_REST_TOKEN is set',
    ]);
    expect(fleetConfigProblems(base)).toEqual([]);
  });

  it('derives a registry-safe default id from the hostname and pid', () => {
    expect(defaultOriginId('gpu host/1', 42)).toBe('gpu-host-1-42');
  });
});

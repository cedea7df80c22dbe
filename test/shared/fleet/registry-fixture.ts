import { randomBytes } from 'node:crypto';
import { Redis } from '@upstash/redis';
import IORedis from 'ioredis';
import { startUpstashBridge } from '../../../scripts/dev/upstash-bridge.ts';
import type { OriginRecord } from '../../../shared/fleet/origin-record.ts';

export const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface RegistryFixture {
  /** An @upstash/redis client going through the REST bridge, as the edge and the origin use it. */
  redis: Redis;
  /** A direct connection for inspecting what the registry wrote (PTTL, ZSCORE). */
  direct: IORedis;
  bridgeUrl: string;
  bridgeToken: string;
  /** Origin ids unique to this run, so parallel test files sharing the registry keys never see each other's. */
  id(label: string): string;
  close(): Promise<void>;
}

export async function startRegistryFixture(): Promise<RegistryFixture> {
  const token = randomBytes(16).toString('hex');
  const bridge = await startUpstashBridge({ redisUrl: REDIS_URL, token, host: '127.0.0.1', port: 0 });
  const redis = new Redis({ url: bridge.url, token: bridge.token, retry: { retries: 0 } });
  const direct = new IORedis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await direct.connect();
  const run = randomBytes(4).toString('hex');
  return {
    redis,
    direct,
    bridgeUrl: bridge.url,
    bridgeToken: bridge.token,
    id: (label) => `t-${run}-${label}`,
    async close() {
      direct.disconnect();
      await bridge.close();
    },
  };
}

export function sampleRecord(id: string, overrides: Partial<OriginRecord> = {}): OriginRecord {
  return {
    id,
    url: 'http://127.0.0.1:9001',
    region: 'test-1',
    status: 'ready',
    models: [{ name: 'ocr-cls', versions: ['2', '1'] }],
    capacity: { maxInflight: 16 },
    load: { inflight: 3, queueDepth: { 'ocr-cls': 2 }, p50LatencyMs: 12.5, gpuUtilization: 0.4 },
    startedAt: 1_700_000_000_000,
    heartbeatAt: 1_700_000_000_000,
    instanceId: null,
    ...overrides,
  };
}

import { afterAll, describe, expect, it } from 'vitest';
import { startUpstashBridge, type UpstashBridge } from '../../../scripts/dev/upstash-bridge.ts';
import { hasRedisServer, type PrivateRedis, startPrivateRedis } from '../../support/private-redis.ts';

let redis: PrivateRedis | undefined;
let bridge: UpstashBridge | undefined;

afterAll(async () => {
  await bridge?.close();
  await redis?.close();
});

const command = (body: unknown) =>
  fetch(`${bridge!.url}/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bridge!.token}` },
    body: JSON.stringify(body),
    // A bridge that parked the request until Redis came back would hit this and fail the test.
    signal: AbortSignal.timeout(10_000),
  });

describe.skipIf(!hasRedisServer)('Upstash bridge while Redis is down', () => {
  it('answers 503 naming Redis at once while it is down, and serves again after it restarts', async () => {
    redis = await startPrivateRedis();
    bridge = await startUpstashBridge({ redisUrl: redis.url, token: 'outage-test-token' });
    expect((await command(['SET', 'k', 'v'])).status).toBe(200);

    await redis.stop();
    const down = await command(['GET', 'k']);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: expect.stringMatching(/^ERR Redis unavailable: /) });

    await redis.start();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await command(['PING'])).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    const res = await command(['SET', 'k', 'again']);
    expect(await res.json()).toEqual({ result: 'OK' });
  });
});

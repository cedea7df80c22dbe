import { randomBytes } from 'node:crypto';
import { upstashUsageStream } from '../../../drizzle/pipeline/stream-upstash.ts';
import { startUpstashBridge } from '../../../scripts/dev/upstash-bridge.ts';
import { REDIS_TEST_URL } from '../../support/test-database.ts';
import { usageStreamContract } from '../../support/usage-stream.contract.ts';

// @upstash/redis over REST, through the local Upstash bridge, as the edge Worker's Cron Trigger drains.
usageStreamContract('@upstash/redis over REST (the Worker drain)', async () => {
  const bridge = await startUpstashBridge({
    redisUrl: REDIS_TEST_URL,
    token: randomBytes(16).toString('hex'),
  });
  return {
    client: upstashUsageStream({ url: bridge.url, token: bridge.token, timeoutMs: 5_000 }),
    close: () => bridge.close(),
  };
});

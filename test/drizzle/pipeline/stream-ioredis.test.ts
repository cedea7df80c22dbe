import { Redis } from 'ioredis';
import { ioredisUsageStream } from '../../../drizzle/pipeline/stream-ioredis.ts';
import { REDIS_TEST_URL } from '../../support/test-database.ts';
import { usageStreamContract } from '../../support/usage-stream.contract.ts';

usageStreamContract('ioredis (the Node drain)', async () => {
  const redis = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: 2 });
  return {
    client: ioredisUsageStream(redis),
    close: async () => {
      redis.disconnect();
    },
  };
});

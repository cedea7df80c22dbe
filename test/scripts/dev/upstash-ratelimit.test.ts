import { randomBytes, randomUUID } from 'node:crypto';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashBridge, type UpstashBridge } from '../../../scripts/dev/upstash-bridge.ts';
import { deleteKeysWithPrefix } from '../../support/redis-cleanup.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `aiserve:test:ratelimit:${randomUUID()}`;

let bridge: UpstashBridge;
let redis: Redis;

beforeAll(async () => {
  bridge = await startUpstashBridge({ redisUrl: REDIS_URL, token: randomBytes(16).toString('hex') });
  redis = new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false, retry: false });
});

afterAll(async () => {
  await bridge?.close();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

/** Waits (bounded) until the limiter's own reset time has passed; no assertion depends on how long that took. */
async function waitUntil(resetMs: number): Promise<void> {
  for (let i = 0; i < 100 && Date.now() <= resetMs + 20; i++) {
    await new Promise((r) => setTimeout(r, Math.min(200, Math.max(10, resetMs + 25 - Date.now()))));
  }
}

const algorithms = {
  fixedWindow: () => Ratelimit.fixedWindow(3, '2 s'),
  slidingWindow: () => Ratelimit.slidingWindow(3, '2 s'),
  tokenBucket: () => Ratelimit.tokenBucket(3, '2 s', 3),
} as const;

describe('@upstash/ratelimit through the Upstash bridge on real Redis', () => {
  for (const [name, limiter] of Object.entries(algorithms)) {
    it(`${name}: allows 3, blocks the 4th with remaining 0, and allows again after the window`, async () => {
      // ephemeralCache off: every decision is made by the Lua scripts in Redis, through the bridge.
      const rl = new Ratelimit({
        redis,
        limiter: limiter(),
        prefix: `${prefix}:${name}`,
        ephemeralCache: false,
        analytics: false,
      });
      // A window (or a refill) can roll over between two calls on a loaded machine and legitimately grant a
      // 4th request; each attempt uses a fresh identifier, and a limiter that never blocks fails all five.
      let id = '';
      let allowed: Awaited<ReturnType<typeof rl.limit>>[] = [];
      let blocked: Awaited<ReturnType<typeof rl.limit>> | undefined;
      for (let attempt = 0; attempt < 5; attempt++) {
        id = `key-${randomUUID()}`;
        allowed = [];
        for (let i = 0; i < 3; i++) allowed.push(await rl.limit(id));
        const fourth = await rl.limit(id);
        if (!fourth.success) {
          blocked = fourth;
          break;
        }
      }
      expect(allowed.map((r) => r.success)).toEqual([true, true, true]);
      expect(allowed.map((r) => r.remaining)).toEqual([2, 1, 0]);
      expect(allowed[0]!.limit).toBe(3);
      expect(blocked?.success).toBe(false);
      expect(blocked!.remaining).toBe(0);
      expect(blocked!.reset).toBeGreaterThan(Date.now() - 2_000);

      // Another identifier has its own budget.
      expect((await rl.limit(`other-${randomUUID()}`)).success).toBe(true);

      // A sliding window weighs the previous window too, so it can take up to two windows to free a slot.
      let again = blocked!;
      for (let attempt = 0; attempt < 3 && !again.success; attempt++) {
        await waitUntil(again.reset);
        again = await rl.limit(id);
      }
      expect(again.success).toBe(true);
    });
  }

  it('costs: a request of 3 items uses the whole fixed-window budget at once', async () => {
    const rl = new Ratelimit({
      redis,
      limiter: Ratelimit.fixedWindow(3, '10 s'),
      prefix: `${prefix}:cost`,
      ephemeralCache: false,
      analytics: false,
    });
    const id = `key-${randomUUID()}`;
    expect((await rl.limit(id, { rate: 3 })).success).toBe(true);
    // The script is cached in Redis by now, so a decision costs one HTTP round trip (EVALSHA), not a retry.
    const before = bridge.requests();
    expect((await rl.limit(id)).success).toBe(false);
    expect(bridge.requests() - before).toBe(1);
  });
});

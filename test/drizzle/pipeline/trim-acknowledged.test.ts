import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ioredisUsageStream } from '../../../drizzle/pipeline/stream-ioredis.ts';
import { trimAcknowledged } from '../../../drizzle/pipeline/trim-acknowledged.ts';
import { seededRandom } from '../../../scripts/sim/rng.ts';
import { REDIS_TEST_URL } from '../../support/test-database.ts';

let redis: Redis;
const streams: string[] = [];
const warnings: unknown[] = [];
const logger = { warn: (fields: object) => void warnings.push(fields) };

function newStream(): string {
  const s = `aiserve_t:trim:${randomUUID()}`;
  streams.push(s);
  return s;
}

beforeAll(() => {
  redis = new Redis(REDIS_TEST_URL);
});

afterAll(async () => {
  if (streams.length > 0) await redis.del(...streams);
  redis.disconnect();
});

async function add(stream: string, n: number): Promise<string[]> {
  const pipeline = redis.pipeline();
  for (let i = 0; i < n; i++) pipeline.xadd(stream, '*', 'e', 'x');
  return ((await pipeline.exec()) ?? []).map(([, id]) => String(id));
}

async function read(stream: string, group: string, consumer: string, count: number): Promise<string[]> {
  const reply = (await redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '>')) as
    | [string, [string, string[]][]][]
    | null;
  return (reply?.[0]?.[1] ?? []).map(([id]) => id);
}

async function present(stream: string): Promise<Set<string>> {
  const entries = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
  return new Set(entries.map(([id]) => id));
}

describe('trimming the usage stream to what the drain acknowledged', () => {
  it('never removes an entry a group has not acknowledged, pending or undelivered, over random interleavings', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261204);
    const random = seededRandom(seed);
    const stream = newStream();
    const groups = ['usage-drain', 'second-reader'];
    for (const g of groups) await redis.xgroup('CREATE', stream, g, '0', 'MKSTREAM');
    /** Per group: ids not yet acknowledged (undelivered or pending), and the pending ones. */
    const unacked = new Map(groups.map((g) => [g, new Set<string>()]));
    const pending = new Map(groups.map((g) => [g, [] as string[]]));
    let trimmed = 0;
    for (let step = 0; step < 250; step++) {
      const op = random();
      const g = groups[Math.floor(random() * groups.length)]!;
      if (op < 0.3) {
        for (const id of await add(stream, 1 + Math.floor(random() * 30))) {
          for (const set of unacked.values()) set.add(id);
        }
      } else if (op < 0.6) {
        pending
          .get(g)!
          .push(...(await read(stream, g, random() < 0.5 ? 'a' : 'b', 1 + Math.floor(random() * 60))));
      } else if (op < 0.85) {
        const list = pending.get(g)!;
        // Acknowledged out of order, as replicas and retries do.
        const acked = list.filter(() => random() < 0.7);
        if (acked.length > 0) await redis.xack(stream, g, ...acked);
        for (const id of acked) unacked.get(g)!.delete(id);
        pending.set(
          g,
          list.filter((id) => !acked.includes(id)),
        );
      } else {
        trimmed += await trimAcknowledged({ redis: ioredisUsageStream(redis), stream, logger });
      }
      const left = await present(stream);
      for (const [group, ids] of unacked) {
        for (const id of ids)
          expect(left.has(id), `seed ${seed} step ${step}: ${group} lost ${id}`).toBe(true);
      }
    }
    expect(trimmed).toBeGreaterThan(0);
    expect(warnings).toEqual([]);
  });

  it('once everything is acknowledged, trims all but the last macro node', async () => {
    const stream = newStream();
    await redis.xgroup('CREATE', stream, 'usage-drain', '0', 'MKSTREAM');
    await add(stream, 1_000);
    const ids = await read(stream, 'usage-drain', 'a', 1_000);
    await redis.xack(stream, 'usage-drain', ...ids);
    expect(
      await trimAcknowledged({ redis: ioredisUsageStream(redis), stream, logger }),
    ).toBeGreaterThanOrEqual(900);
    expect(await redis.xlen(stream)).toBeLessThanOrEqual(100);
  });

  it('keeps everything from the oldest pending entry on, and leaves a stream without any group whole', async () => {
    const stream = newStream();
    await redis.xgroup('CREATE', stream, 'usage-drain', '0', 'MKSTREAM');
    await add(stream, 500);
    const ids = await read(stream, 'usage-drain', 'a', 500);
    // Entry 250 stays pending (a crashed consumer's); all others are acknowledged.
    await redis.xack(stream, 'usage-drain', ...ids.filter((_, i) => i !== 250));
    await trimAcknowledged({ redis: ioredisUsageStream(redis), stream, logger });
    const left = await present(stream);
    for (const id of ids.slice(250)) expect(left.has(id)).toBe(true);

    const bare = newStream();
    await add(bare, 300);
    expect(await trimAcknowledged({ redis: ioredisUsageStream(redis), stream: bare, logger })).toBe(0);
    expect(await redis.xlen(bare)).toBe(300);
    expect(
      await trimAcknowledged({
        redis: ioredisUsageStream(redis),
        stream: `aiserve_t:trim:absent:${randomUUID()}`,
        logger,
      }),
    ).toBe(0);
  });
});

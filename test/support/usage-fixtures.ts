import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type UsageEvent, usageStreamFields } from '../../shared/usage/event.ts';

export function usageEvent(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    id: randomUUID(),
    ts: Date.UTC(2026, 10, 25, 12, 0, 0),
    tenantId: '00000000-0000-4000-8000-000000000001',
    keyId: null,
    model: 'mnist',
    version: '1',
    route: '/v2/models/:name/infer',
    status: 200,
    latencyMs: 12,
    cache: 'MISS',
    items: 1,
    requestId: `req-${randomUUID()}`,
    originId: 'origin-a',
    ...overrides,
  };
}

/** XADD with the fields the edge appends (it adds them through a length-guarded script, never trimming). */
export async function produce(redis: Redis, stream: string, events: UsageEvent[]): Promise<void> {
  const pipeline = redis.pipeline();
  for (const e of events) pipeline.xadd(stream, '*', ...usageStreamFields(e).flat());
  await pipeline.exec();
}

export async function pendingCount(redis: Redis, stream: string, group = 'usage-drain'): Promise<number> {
  const summary = (await redis.xpending(stream, group)) as [number, ...unknown[]];
  return Number(summary[0]);
}

import type { Redis } from '@upstash/redis';
import { describe, expect, it } from 'vitest';
import { readEdgeSettings } from '../../workers/config.ts';
import { createServices } from '../../workers/services.ts';
import { usageEvent } from '../support/usage-fixtures.ts';

const event = usageEvent();

async function usageSinkWith(isolatedRequests: boolean) {
  const xadds: string[] = [];
  // The guarded append's EVAL: ARGV is [maxLength, 'id', <event id>, 'e', <json>].
  const redis = {
    eval: async (_script: string, _keys: string[], args: string[]) => {
      xadds.push(args[2]!);
      return '1-0';
    },
  } as unknown as Redis;
  const settings = readEdgeSettings({ ENVIRONMENT: 'test', LOG_LEVEL: 'error', USAGE_STREAM_BATCH_MS: '50' });
  const services = await createServices(settings, { data: null, redis, isolatedRequests });
  return { sink: services.usage, xadds };
}

describe('services: the Redis usage sink', () => {
  it('on Workers (isolated requests) sends each event from its own request at once, never batched across requests', async () => {
    const { sink, xadds } = await usageSinkWith(true);
    const recorded = sink.record(event);
    expect(xadds).toEqual([event.id]);
    await recorded;
  });

  it('under Node waits USAGE_STREAM_BATCH_MS for other events to share the round trip', async () => {
    const { sink, xadds } = await usageSinkWith(false);
    const recorded = sink.record(event);
    expect(xadds).toEqual([]);
    await recorded;
    expect(xadds).toEqual([event.id]);
  });
});

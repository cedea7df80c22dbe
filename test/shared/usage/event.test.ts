import { describe, expect, it } from 'vitest';
import { USAGE_STREAM } from '../../../shared/redis-keys.ts';
import { usageEventSchema, usageStreamFields } from '../../../shared/usage/event.ts';
import { usageEvent } from '../../support/usage-fixtures.ts';

describe('usage event contract', () => {
  it('streams as [id, <id>] and [e, <json>] and parses back to the same event', () => {
    const e = usageEvent();
    const fields = usageStreamFields(e);
    expect(USAGE_STREAM).toBe('aiserve:usage');
    expect(fields).toEqual([
      ['id', e.id],
      ['e', JSON.stringify(e)],
    ]);
    expect(usageEventSchema.parse(JSON.parse(fields[1]![1]))).toEqual(e);
  });

  it('rejects events the usage table could not hold, naming the field', () => {
    const bad = [
      { ...usageEvent(), id: 'not-a-uuid' },
      { ...usageEvent(), status: 700 },
      { ...usageEvent(), cache: 'HIT' },
      { ...usageEvent(), latencyMs: -1 },
      { ...usageEvent(), items: 1.5 },
      { ...usageEvent(), tenantId: undefined },
    ];
    const paths = bad.map((b) => usageEventSchema.safeParse(b).error?.issues[0]?.path.join('.'));
    expect(paths).toEqual(['id', 'status', 'cache', 'latencyMs', 'items', 'tenantId']);
  });
});

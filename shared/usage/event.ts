import { z } from 'zod';

const CACHE_RESULTS = ['HIT-EDGE', 'HIT-REDIS', 'MISS', 'BYPASS', 'NONE'] as const;

/**
 * One usage event per request. `id` is the idempotency key: the drain writes with ON CONFLICT DO NOTHING on
 * (event_id, ts), so a redelivered entry never counts twice.
 */
export const usageEventSchema = z.object({
  id: z.uuid(),
  ts: z.number().int().nonnegative(),
  tenantId: z.uuid(),
  keyId: z.uuid().nullable(),
  model: z.string().min(1).max(256).nullable(),
  version: z.string().min(1).max(64).nullable(),
  route: z.string().min(1).max(256),
  status: z.number().int().min(100).max(599),
  latencyMs: z.number().nonnegative().finite(),
  cache: z.enum(CACHE_RESULTS),
  items: z.number().int().nonnegative(),
  requestId: z.string().min(1).max(256),
  originId: z.string().min(1).max(256).nullable(),
});

export type UsageEvent = z.infer<typeof usageEventSchema>;

/** The stream entry's fields: the id on its own (readable with XRANGE), and the whole event as JSON. */
export function usageStreamFields(e: UsageEvent): [string, string][] {
  return [
    ['id', e.id],
    ['e', JSON.stringify(e)],
  ];
}

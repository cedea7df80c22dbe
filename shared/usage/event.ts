import { z } from 'zod';

const CACHE_RESULTS = ['HIT-EDGE', 'HIT-REDIS', 'MISS', 'BYPASS', 'NONE'] as const;

/**
 * Answers the edge records without a tenant: a request without a valid key refused with 401, 403 (a disabled
 * tenant) or 429 (the per-IP limiter). They carry `tenantId: null` so the rollups count auth failures and
 * rate limiting across the whole edge; every tenant report filters them out.
 */
export const TENANTLESS_USAGE_STATUSES: ReadonlySet<number> = new Set([401, 403, 429]);

/**
 * One usage event per request. `id` is the idempotency key: the drain writes with ON CONFLICT DO NOTHING on
 * (event_id, ts), so a redelivered entry never counts twice, in usage_events or in the rollups.
 *
 * `tenantId` is null only for the answers in `TENANTLESS_USAGE_STATUSES`. `originMs` is how long the request
 * waited on the origin (retries included), null when none was asked; optional, so events from edges older
 * than the field still parse.
 */
export const usageEventSchema = z
  .object({
    id: z.uuid(),
    ts: z.number().int().nonnegative(),
    tenantId: z.uuid().nullable(),
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
    originMs: z.number().nonnegative().finite().nullish(),
  })
  .refine((e) => e.tenantId !== null || TENANTLESS_USAGE_STATUSES.has(e.status), {
    message: 'only a 401, 403 or 429 answer may have no tenant',
    path: ['tenantId'],
  });

export type UsageEvent = z.infer<typeof usageEventSchema>;

/** The stream entry's fields: the id on its own (readable with XRANGE), and the whole event as JSON. */
export function usageStreamFields(e: UsageEvent): [string, string][] {
  return [
    ['id', e.id],
    ['e', JSON.stringify(e)],
  ];
}

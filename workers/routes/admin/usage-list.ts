import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { listUsageEvents, usageReport } from '../../../drizzle/queries/usage.ts';
import type { AppEnv } from '../../env.ts';
import { resolveTenant, withDatabase } from './access.ts';
import { adminErrors, bearerSecurity, tenantParam } from './schemas.ts';

const querySchema = z.object({
  from: z
    .string()
    .datetime({ offset: true })
    .openapi({ param: { name: 'from', in: 'query' }, example: '2026-11-01T00:00:00Z' }),
  to: z
    .string()
    .datetime({ offset: true })
    .openapi({ param: { name: 'to', in: 'query' }, example: '2026-12-01T00:00:00Z' }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .openapi({ param: { name: 'limit', in: 'query' } }),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ param: { name: 'cursor', in: 'query' }, description: 'nextCursor of the previous page' }),
});

const aggregateSchema = z.object({
  requests: z.number(),
  items: z.number(),
  cacheHits: z.number(),
  cacheHitRatio: z.number().nullable(),
  clientErrors: z.number(),
  serverErrors: z.number(),
  p50LatencyMs: z.number().nullable(),
  p95LatencyMs: z.number().nullable(),
});

const eventSchema = z.object({
  eventId: z.string(),
  ts: z.string(),
  keyId: z.string().nullable(),
  model: z.string().nullable(),
  version: z.string().nullable(),
  route: z.string(),
  status: z.number(),
  latencyMs: z.number(),
  cache: z.string(),
  items: z.number(),
  requestId: z.string(),
  originId: z.string().nullable(),
});

const usageSchema = z
  .object({
    totals: aggregateSchema.nullable().openapi({ description: 'first page only (null with a cursor)' }),
    byModel: z.array(aggregateSchema.extend({ model: z.string().nullable() })).nullable(),
    events: z.array(eventSchema),
    nextCursor: z.string().nullable(),
  })
  .openapi('UsagePage');

const usageListRoute = createRoute({
  method: 'get',
  path: '/admin/v1/tenants/{tenant}/usage',
  tags: ['admin: usage'],
  summary: "A tenant's usage in [from, to): totals, per model, and events newest first (paginated)",
  security: bearerSecurity,
  request: { params: tenantParam, query: querySchema },
  responses: {
    200: { description: 'usage', content: { 'application/json': { schema: usageSchema } } },
    ...adminErrors,
  },
});

export function registerUsageList(app: OpenAPIHono<AppEnv>): void {
  app.openapi(usageListRoute, async (c) => {
    const q = c.req.valid('query');
    const body = await withDatabase(c, async (h) => {
      const tenant = await resolveTenant(c, h, c.req.valid('param').tenant);
      const range = { tenantId: tenant.id, from: new Date(q.from), to: new Date(q.to) };
      const [report, page] = await Promise.all([
        q.cursor ? null : usageReport(h.db, range),
        listUsageEvents(h.db, { ...range, limit: q.limit, cursor: q.cursor ?? null }),
      ]);
      return { totals: report?.totals ?? null, byModel: report?.byModel ?? null, ...page };
    });
    return c.json(body, 200);
  });
}

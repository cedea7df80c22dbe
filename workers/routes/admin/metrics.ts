import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { readRollupTotals } from '../../../drizzle/queries/usage-rollups.ts';
import { AppError } from '../../../shared/errors/index.ts';
import type { AppEnv } from '../../env.ts';
import { PROMETHEUS_CONTENT_TYPE, renderRollupMetrics } from '../../observability/rollup-metrics.ts';
import { authOf, withDatabase } from './access.ts';
import { adminErrors, bearerSecurity } from './schemas.ts';

const querySchema = z.object({
  format: z
    .enum(['prometheus', 'json'])
    .optional()
    .openapi({
      param: { name: 'format', in: 'query' },
      description:
        'Overrides `Accept`: `prometheus` (the edge-wide series) or `json` (this isolate’s counters)',
    }),
});

const metricsRoute = createRoute({
  method: 'get',
  path: '/admin/v1/metrics',
  tags: ['admin: fleet'],
  summary:
    'Edge-wide series from the usage rollups as Prometheus text (Accept: text/plain, or format=prometheus); this isolate’s counters as JSON otherwise (operator; a tenant admin key: its own series)',
  security: bearerSecurity,
  request: { query: querySchema },
  responses: {
    200: {
      description:
        'Prometheus text exposition (0.0.4): counters since the rollups began, summed over every isolate; or the JSON counters since this isolate started',
      content: {
        'text/plain': { schema: z.string() },
        'application/json': { schema: z.object({ counters: z.record(z.string(), z.number()) }) },
      },
    },
    ...adminErrors,
  },
});

/** The best `q` the Accept header gives any of `types` (0 when it names none of them; wildcards count for none). */
function acceptQ(accept: string, types: readonly string[]): number {
  let best = 0;
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    if (!type || !types.includes(type)) continue;
    const q = params.find((p) => p.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    if (Number.isFinite(value)) best = Math.max(best, value);
  }
  return best;
}

/**
 * Prometheus text when asked for (`format=prometheus`, or an Accept header that prefers text/plain or
 * OpenMetrics over JSON, as a Prometheus scraper's does); JSON otherwise, so existing JSON clients and a bare
 * request keep their answer.
 */
function wantsPrometheus(format: 'prometheus' | 'json' | undefined, accept: string | undefined): boolean {
  if (format !== undefined) return format === 'prometheus';
  if (!accept) return false;
  const text = acceptQ(accept, ['text/plain', 'application/openmetrics-text']);
  return text > 0 && text > acceptQ(accept, ['application/json']);
}

export function registerMetrics(app: OpenAPIHono<AppEnv>): void {
  app.openapi(metricsRoute, async (c) => {
    const auth = authOf(c);
    if (!wantsPrometheus(c.req.valid('query').format, c.req.header('accept'))) {
      if (!auth.operator) {
        throw new AppError(
          'FORBIDDEN',
          "this isolate's JSON counters are the operator's; a tenant admin key reads its own series as Prometheus text (format=prometheus)",
        );
      }
      return c.json({ counters: c.get('services').metrics.snapshot() }, 200);
    }
    // The operator sees every tenant (and the tenant-less refusals); a tenant's admin key only its own tenant.
    let filter: { tenantId?: string } = {};
    if (!auth.operator) {
      if (!auth.tenantId) throw new AppError('FORBIDDEN', 'this key belongs to no tenant');
      filter = { tenantId: auth.tenantId };
    }
    const rows = await withDatabase(c, (h) => readRollupTotals(h.db, filter));
    return c.text(renderRollupMetrics(rows), 200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
  });
}

import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { requireOperator } from './access.ts';
import { adminErrors, bearerSecurity } from './schemas.ts';

const metricsRoute = createRoute({
  method: 'get',
  path: '/admin/v1/metrics',
  tags: ['admin: fleet'],
  summary: "This isolate's edge counters (auth tiers, limiter failures, usage writes) (operator)",
  security: bearerSecurity,
  responses: {
    200: {
      description: 'counters since the isolate started',
      content: { 'application/json': { schema: z.object({ counters: z.record(z.string(), z.number()) }) } },
    },
    ...adminErrors,
  },
});

export function registerMetrics(app: OpenAPIHono<AppEnv>): void {
  app.openapi(metricsRoute, (c) => {
    requireOperator(c);
    return c.json({ counters: c.get('services').metrics.snapshot() }, 200);
  });
}

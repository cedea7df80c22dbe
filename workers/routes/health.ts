import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../env.ts';
import type { EdgeReadiness } from '../observability/readiness.ts';

const liveSchema = z.object({ live: z.boolean() }).openapi('EdgeLive');
const readySchema = z
  .object({
    ready: z.boolean(),
    dependencies: z.record(z.string(), z.enum(['up', 'down'])).openapi({
      description:
        'Each database this edge is configured with (`postgres`, `redis`), as the last check found it',
      example: { postgres: 'up', redis: 'down' },
    }),
  })
  .openapi('EdgeReady');

const healthLiveRoute = createRoute({
  method: 'get',
  path: '/v2/health/live',
  tags: ['health'],
  summary: 'The edge worker is running',
  responses: { 200: { description: 'live', content: { 'application/json': { schema: liveSchema } } } },
});

const healthReadyRoute = createRoute({
  method: 'get',
  path: '/v2/health/ready',
  tags: ['health'],
  summary:
    'The edge can take requests: its configuration loaded and every configured database (Postgres, Redis) answers; checked at most every HEALTH_READY_CACHE_MS',
  responses: {
    200: { description: 'ready', content: { 'application/json': { schema: readySchema } } },
    503: {
      description: 'not ready: the body names the dependency that is down',
      content: { 'application/json': { schema: readySchema } },
    },
  },
});

/**
 * Health of the edge itself, not of the fleet (that is `GET /admin/v1/fleet`): the edge answers and
 * authenticates from its caches even when every origin is down, so readiness does not depend on them. It does
 * depend on the databases the edge is configured with (see createEdgeReadiness).
 */
export function registerHealth(app: OpenAPIHono<AppEnv>, readiness: EdgeReadiness): void {
  app.openapi(healthLiveRoute, (c) => c.json({ live: true }, 200));
  app.openapi(healthReadyRoute, async (c) => {
    const report = await readiness.check();
    return report.ready ? c.json(report, 200) : c.json(report, 503);
  });
}

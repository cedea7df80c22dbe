import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../env.ts';

const liveSchema = z.object({ live: z.boolean() }).openapi('EdgeLive');
const readySchema = z.object({ ready: z.boolean() }).openapi('EdgeReady');

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
  summary: 'The edge worker can take requests (its configuration loaded)',
  responses: { 200: { description: 'ready', content: { 'application/json': { schema: readySchema } } } },
});

/**
 * Health of the edge itself, not of the fleet (that is `GET /admin/v1/fleet`): the edge answers and
 * authenticates from its caches even when every origin is down, so readiness does not depend on them.
 */
export function registerHealth(app: OpenAPIHono<AppEnv>): void {
  app.openapi(healthLiveRoute, (c) => c.json({ live: true }, 200));
  app.openapi(healthReadyRoute, (c) => c.json({ ready: true }, 200));
}

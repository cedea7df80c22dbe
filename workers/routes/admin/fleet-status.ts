import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { AppError } from '../../../shared/errors/index.ts';
import { listLiveOrigins } from '../../../shared/fleet/registry.ts';
import type { AppEnv } from '../../env.ts';
import { parseStaticOrigins } from '../../routing/origin-source.ts';
import { requireOperator } from './access.ts';
import { adminErrors, bearerSecurity } from './schemas.ts';

const originSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    region: z.string(),
    status: z.string(),
    models: z.array(z.object({ name: z.string(), versions: z.array(z.string()) })),
    load: z.object({ inflight: z.number(), queueDepth: z.record(z.string(), z.number()) }).passthrough(),
    heartbeatAt: z.number(),
  })
  .passthrough()
  .openapi('FleetOrigin');

const fleetStatusRoute = createRoute({
  method: 'get',
  path: '/admin/v1/fleet',
  tags: ['admin: fleet'],
  summary: 'Live origins from the fleet registry (or the static ORIGINS list without Redis) (operator)',
  security: bearerSecurity,
  responses: {
    200: {
      description: 'fleet',
      content: {
        'application/json': {
          schema: z.object({ source: z.enum(['registry', 'static']), origins: z.array(originSchema) }),
        },
      },
    },
    ...adminErrors,
  },
});

export function registerFleetStatus(app: OpenAPIHono<AppEnv>): void {
  app.openapi(fleetStatusRoute, async (c) => {
    requireOperator(c);
    const { redis, config, routing } = c.get('services');
    const source = redis ? ('registry' as const) : ('static' as const);
    try {
      // The router's own view (registry, or the static list) when it is wired; else read the registry directly.
      if (routing) return c.json({ source, origins: await routing.source.list() }, 200);
      if (!redis) return c.json({ source, origins: parseStaticOrigins(config.ORIGINS) }, 200);
      return c.json({ source, origins: await listLiveOrigins(redis, c.get('platform').now()) }, 200);
    } catch (err) {
      throw new AppError('DEPENDENCY_UNAVAILABLE', 'fleet registry (Redis) is unreachable', {
        cause: err,
        retryAfterSeconds: 5,
      });
    }
  });
}

import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { listKeys } from '../../../drizzle/queries/keys.ts';
import type { AppEnv } from '../../env.ts';
import { resolveTenant, withDatabase } from './access.ts';
import { adminErrors, bearerSecurity, keySummarySchema, tenantParam } from './schemas.ts';

const querySchema = z.object({
  includeRevoked: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ param: { name: 'includeRevoked', in: 'query' }, description: 'also list revoked keys' }),
});

const keysListRoute = createRoute({
  method: 'get',
  path: '/admin/v1/tenants/{tenant}/keys',
  tags: ['admin: keys'],
  summary: "List a tenant's keys (prefixes and metadata, never secrets)",
  security: bearerSecurity,
  request: { params: tenantParam, query: querySchema },
  responses: {
    200: {
      description: 'keys, newest first',
      content: { 'application/json': { schema: z.object({ keys: z.array(keySummarySchema) }) } },
    },
    ...adminErrors,
  },
});

export function registerKeysList(app: OpenAPIHono<AppEnv>): void {
  app.openapi(keysListRoute, async (c) => {
    const includeRevoked = c.req.valid('query').includeRevoked === 'true';
    const keys = await withDatabase(c, async (h) => {
      const tenant = await resolveTenant(c, h, c.req.valid('param').tenant);
      return listKeys(h.db, tenant.id, { includeRevoked });
    });
    return c.json({ keys }, 200);
  });
}

import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { findTenantById, listTenants } from '../../../drizzle/queries/tenants.ts';
import type { AppEnv } from '../../env.ts';
import { authOf, withDatabase } from './access.ts';
import { adminErrors, bearerSecurity, tenantJson, tenantSchema } from './schemas.ts';

const tenantsListRoute = createRoute({
  method: 'get',
  path: '/admin/v1/tenants',
  tags: ['admin: tenants'],
  summary: 'List tenants (operator: all; tenant admin key: its own)',
  security: bearerSecurity,
  responses: {
    200: {
      description: 'tenants',
      content: { 'application/json': { schema: z.object({ tenants: z.array(tenantSchema) }) } },
    },
    ...adminErrors,
  },
});

export function registerTenantsList(app: OpenAPIHono<AppEnv>): void {
  app.openapi(tenantsListRoute, async (c) => {
    const auth = authOf(c);
    const rows = await withDatabase(c, async (h) => {
      if (auth.operator) return listTenants(h.db);
      const own = auth.tenantId ? await findTenantById(h.db, auth.tenantId) : null;
      return own ? [own] : [];
    });
    return c.json({ tenants: rows.map(tenantJson) }, 200);
  });
}

import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { createTenantAudited, PLANS } from '../../../drizzle/queries/tenants.ts';
import type { AppEnv } from '../../env.ts';
import { auditBy, requireOperator, withDatabase } from './access.ts';
import { adminErrors, bearerSecurity, errorSchema, tenantJson, tenantSchema } from './schemas.ts';

const bodySchema = z
  .object({
    name: z.string().min(1).max(63).openapi({ example: 'acme' }),
    plan: z.enum(PLANS as [string, ...string[]]).optional(),
    requestsPerMinute: z.number().int().positive().max(1_000_000).optional(),
    burst: z.number().int().positive().max(1_000_000).optional(),
  })
  .strict()
  .openapi('CreateTenant');

const tenantsCreateRoute = createRoute({
  method: 'post',
  path: '/admin/v1/tenants',
  tags: ['admin: tenants'],
  summary: 'Create a tenant (operator)',
  security: bearerSecurity,
  request: { body: { required: true, content: { 'application/json': { schema: bodySchema } } } },
  responses: {
    201: { description: 'created', content: { 'application/json': { schema: tenantSchema } } },
    409: { description: 'name taken', content: { 'application/json': { schema: errorSchema } } },
    ...adminErrors,
  },
});

export function registerTenantsCreate(app: OpenAPIHono<AppEnv>): void {
  app.openapi(tenantsCreateRoute, async (c) => {
    const auth = requireOperator(c);
    const input = c.req.valid('json');
    // The tenant and its audit row commit together.
    const tenant = await withDatabase(c, (h) =>
      createTenantAudited(
        h.primary,
        {
          name: input.name,
          plan: input.plan as (typeof PLANS)[number] | undefined,
          requestsPerMinute: input.requestsPerMinute,
          burst: input.burst,
        },
        auditBy(c, auth),
      ),
    );
    return c.json(tenantJson(tenant), 201);
  });
}

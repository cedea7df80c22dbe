import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { revokeKeyAudited } from '../../../drizzle/queries/keys.ts';
import { AppError } from '../../../shared/errors/index.ts';
import type { AppEnv } from '../../env.ts';
import { auditBy, authOf, resolveTenant, withDatabase } from './access.ts';
import { adminErrors, bearerSecurity, errorSchema, keyParam, keySummarySchema } from './schemas.ts';

const keysRevokeRoute = createRoute({
  method: 'post',
  path: '/admin/v1/tenants/{tenant}/keys/{key}/revoke',
  tags: ['admin: keys'],
  summary: 'Revoke a key (idempotent); every edge stops accepting it within AUTH_MEMORY_TTL_MS',
  security: bearerSecurity,
  request: { params: keyParam },
  responses: {
    200: {
      description: 'revoked',
      content: {
        'application/json': { schema: z.object({ key: keySummarySchema, alreadyRevoked: z.boolean() }) },
      },
    },
    404: { description: 'no such key', content: { 'application/json': { schema: errorSchema } } },
    ...adminErrors,
  },
});

export function registerKeysRevoke(app: OpenAPIHono<AppEnv>): void {
  app.openapi(keysRevokeRoute, async (c) => {
    const auth = authOf(c);
    const { tenant: tenantRef, key } = c.req.valid('param');
    const { keys } = c.get('services');
    const result = await withDatabase(c, async (h) => {
      const tenant = await resolveTenant(c, h, tenantRef);
      // Revocation and audit row commit together; then this isolate's copy and the Redis entry are dropped,
      // so other edges re-read within their memory TTL.
      const revoked = await revokeKeyAudited(
        h.primary,
        key,
        { tenantId: tenant.id, onKeyChanged: (p) => keys.invalidate(p) },
        auditBy(c, auth),
      );
      if (!revoked) throw new AppError('NOT_FOUND', `no key "${key}" in tenant "${tenantRef}"`);
      return revoked;
    });
    return c.json(result, 200);
  });
}

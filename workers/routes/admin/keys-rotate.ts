import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { rotateKeyAudited } from '../../../drizzle/queries/keys.ts';
import { AppError } from '../../../shared/errors/index.ts';
import type { AppEnv } from '../../env.ts';
import { auditBy, authOf, resolveTenant, withDatabase } from './access.ts';
import { adminErrors, bearerSecurity, errorSchema, keyParam, keySummarySchema } from './schemas.ts';

const bodySchema = z
  .object({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(3600)
      .openapi({ description: 'how long the old key keeps working', example: 3600 }),
  })
  .strict()
  .openapi('RotateKey');

const keysRotateRoute = createRoute({
  method: 'post',
  path: '/admin/v1/tenants/{tenant}/keys/{key}/rotate',
  tags: ['admin: keys'],
  summary: 'Issue a replacement key; the old one expires after the overlap',
  security: bearerSecurity,
  request: {
    params: keyParam,
    body: { required: false, content: { 'application/json': { schema: bodySchema } } },
  },
  responses: {
    200: {
      description: 'rotated; the new full key is in this response only',
      content: {
        'application/json': {
          schema: z.object({ key: z.string(), newKey: keySummarySchema, oldKey: keySummarySchema }),
        },
      },
    },
    404: { description: 'no such key', content: { 'application/json': { schema: errorSchema } } },
    409: { description: 'revoked or expired key', content: { 'application/json': { schema: errorSchema } } },
    ...adminErrors,
  },
});

export function registerKeysRotate(app: OpenAPIHono<AppEnv>): void {
  app.openapi(keysRotateRoute, async (c) => {
    const auth = authOf(c);
    const { tenant: tenantRef, key } = c.req.valid('param');
    const overlapSeconds = c.req.valid('json')?.overlapSeconds ?? 3600;
    const { keys } = c.get('services');
    const result = await withDatabase(c, async (h) => {
      const tenant = await resolveTenant(c, h, tenantRef);
      // Successor, old key's expiry and audit row commit together (a failed append shows no new key).
      const rotated = await rotateKeyAudited(
        h.primary,
        key,
        { overlapSeconds, tenantId: tenant.id, onKeyChanged: (p) => keys.invalidate(p) },
        auditBy(c, auth),
      );
      if (!rotated) throw new AppError('NOT_FOUND', `no key "${key}" in tenant "${tenantRef}"`);
      return rotated;
    });
    c.header('cache-control', 'no-store');
    return c.json(result, 200);
  });
}

import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { createKeyAudited } from '../../../drizzle/queries/keys.ts';
import { AppError } from '../../../shared/errors/index.ts';
import type { AppEnv } from '../../env.ts';
import { auditBy, authOf, resolveTenant, withDatabase } from './access.ts';
import { adminErrors, bearerSecurity, keySummarySchema, tenantParam } from './schemas.ts';

const bodySchema = z
  .object({
    name: z.string().max(128).optional(),
    scopes: z
      .array(z.string().min(1).max(128))
      .min(1)
      .max(100)
      .optional()
      .openapi({
        description: 'model names, "*" for every model, "admin" for this tenant\'s admin API',
        example: ['ocr-cls'],
      }),
    env: z.enum(['live', 'test']).optional(),
    expiresAt: z.string().datetime({ offset: true }).optional().openapi({ example: '2027-01-01T00:00:00Z' }),
  })
  .strict()
  .openapi('CreateKey');

const createdSchema = z
  .object({
    key: z.string().openapi({ description: 'the full key: shown once, never stored' }),
    record: keySummarySchema,
  })
  .openapi('CreatedKey');

const keysCreateRoute = createRoute({
  method: 'post',
  path: '/admin/v1/tenants/{tenant}/keys',
  tags: ['admin: keys'],
  summary: 'Create an API key; the full key is in this response only',
  security: bearerSecurity,
  request: { params: tenantParam, body: { content: { 'application/json': { schema: bodySchema } } } },
  responses: {
    201: { description: 'created', content: { 'application/json': { schema: createdSchema } } },
    ...adminErrors,
  },
});

export function registerKeysCreate(app: OpenAPIHono<AppEnv>): void {
  app.openapi(keysCreateRoute, async (c) => {
    const auth = authOf(c);
    const input = c.req.valid('json');
    const scopes = input.scopes ?? ['*'];
    // A tenant admin key may not mint a key with more power than itself.
    if (!auth.operator && scopes.includes('admin') && !auth.scopes.includes('admin')) {
      throw new AppError('FORBIDDEN', 'only an admin key can create admin keys');
    }
    const created = await withDatabase(c, async (h) => {
      const tenant = await resolveTenant(c, h, c.req.valid('param').tenant);
      // The key and its audit row commit together: a failed append leaves no key whose secret nobody saw.
      return createKeyAudited(
        h.primary,
        {
          tenantId: tenant.id,
          name: input.name,
          scopes,
          env: input.env,
          expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
        },
        auditBy(c, auth),
      );
    });
    c.header('cache-control', 'no-store');
    return c.json(created, 201);
  });
}

import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { MAX_CACHE_TTL_SECONDS, setModelSettingsAudited } from '../../../drizzle/queries/models.ts';
import type { AppEnv } from '../../env.ts';
import { auditBy, requireOperator, withDatabase } from './access.ts';
import { adminErrors, bearerSecurity, modelSettingsSchema } from './schemas.ts';

const paramsSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'ocr-cls' }),
});

const bodySchema = z
  .object({
    cacheable: z.boolean().optional(),
    cacheTtlSeconds: z.number().int().min(0).max(MAX_CACHE_TTL_SECONDS).optional(),
    shareable: z.boolean().optional().openapi({ description: 'one cache entry for all tenants' }),
    visibility: z.enum(['public', 'private']).optional(),
    ownerTenantId: z.string().uuid().nullable().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'give at least one setting to change')
  .openapi('ModelSettingsPatch');

const modelsUpdateRoute = createRoute({
  method: 'patch',
  path: '/admin/v1/models/{name}',
  tags: ['admin: models'],
  summary: "Set a model's cacheability, TTL and sharing (operator)",
  security: bearerSecurity,
  request: {
    params: paramsSchema,
    body: { required: true, content: { 'application/json': { schema: bodySchema } } },
  },
  responses: {
    200: {
      description: 'settings after the change',
      content: { 'application/json': { schema: modelSettingsSchema } },
    },
    ...adminErrors,
  },
});

export function registerModelsUpdate(app: OpenAPIHono<AppEnv>): void {
  app.openapi(modelsUpdateRoute, async (c) => {
    const auth = requireOperator(c);
    const { name } = c.req.valid('param');
    const patch = c.req.valid('json');
    // The settings and their audit row (before and after) commit together.
    const { after } = await withDatabase(c, (h) =>
      setModelSettingsAudited(h.primary, name, patch, auditBy(c, auth)),
    );
    // This isolate sees the change at once; others within MODEL_SETTINGS_TTL_MS.
    c.get('services').routing?.settings.invalidate(name);
    return c.json(after, 200);
  });
}

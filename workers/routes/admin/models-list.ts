import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { DEFAULT_MODEL_SETTINGS, listModelSettings } from '../../../drizzle/queries/models.ts';
import type { AppEnv } from '../../env.ts';
import { authOf, withDatabase } from './access.ts';
import { adminErrors, bearerSecurity, modelSettingsSchema } from './schemas.ts';

const modelsListRoute = createRoute({
  method: 'get',
  path: '/admin/v1/models',
  tags: ['admin: models'],
  summary: 'Model cache settings (models without a row use the defaults)',
  security: bearerSecurity,
  responses: {
    200: {
      description: 'settings',
      content: {
        'application/json': {
          schema: z.object({
            defaults: modelSettingsSchema.omit({ name: true }),
            models: z.array(modelSettingsSchema.extend({ updatedAt: z.string() })),
          }),
        },
      },
    },
    ...adminErrors,
  },
});

export function registerModelsList(app: OpenAPIHono<AppEnv>): void {
  app.openapi(modelsListRoute, async (c) => {
    const auth = authOf(c);
    const all = await withDatabase(c, (h) => listModelSettings(h.db));
    // A tenant admin sees public models and its own private ones.
    const models = auth.operator
      ? all
      : all.filter((m) => m.visibility === 'public' || m.ownerTenantId === auth.tenantId);
    return c.json({ defaults: DEFAULT_MODEL_SETTINGS, models }, 200);
  });
}
